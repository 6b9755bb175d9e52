/*
 * A program that embeds HotSpot the way application servers and IDE launchers do:
 * dlopen libjvm.so of the installed JDK and call JNI_CreateJavaVM, without the `java`
 * launcher.  The observer must see it as a JVM from its thread names alone.
 *
 *   jvm_launcher [-cp CLASSPATH] MAIN_CLASS [ARGS...]   run MAIN_CLASS.main(ARGS)
 *   jvm_launcher --sleep SECONDS                       create the VM, print "ready", sleep
 *
 * libjvm.so: $JAVA_HOME/lib/server/libjvm.so, else found from `java` in PATH.  The VM runs
 * on a thread with an 8 MiB stack (HotSpot dislikes the primordial thread, as the `java`
 * launcher knows).
 */
#include <dlfcn.h>
#include <jni.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef jint (*create_vm_fn)(JavaVM **, void **, void *);

struct launch {
	int argc;
	char **argv;
	int rc;
};

static int find_libjvm(char *out, size_t n)
{
	const char *home = getenv("JAVA_HOME");
	char java[PATH_MAX];

	if (home && *home) {
		if (snprintf(out, n, "%s/lib/server/libjvm.so", home) < (int)n && access(out, R_OK) == 0)
			return 0;
	}
	/* PATH's java -> .../bin/java; libjvm is ../lib/server/libjvm.so. */
	const char *path = getenv("PATH");
	char *dirs = strdup(path ? path : "/usr/bin:/bin");
	for (char *d = strtok(dirs, ":"); d; d = strtok(NULL, ":")) {
		char cand[PATH_MAX];
		snprintf(cand, sizeof(cand), "%s/java", d);
		if (access(cand, X_OK) != 0 || !realpath(cand, java))
			continue;
		char *slash = strrchr(java, '/');
		if (slash) *slash = 0;                 /* .../bin */
		slash = strrchr(java, '/');
		if (slash) *slash = 0;                 /* JDK home */
		if (snprintf(out, n, "%s/lib/server/libjvm.so", java) >= (int)n)
			continue;
		if (access(out, R_OK) == 0) {
			free(dirs);
			return 0;
		}
	}
	free(dirs);
	return -1;
}

static void *run(void *arg)
{
	struct launch *l = arg;
	char lib[PATH_MAX];
	const char *cp = ".";
	int i = 1;
	int sleep_secs = -1;

	l->rc = 1;
	if (i + 1 < l->argc && strcmp(l->argv[i], "-cp") == 0) {
		cp = l->argv[i + 1];
		i += 2;
	}
	if (i + 1 < l->argc && strcmp(l->argv[i], "--sleep") == 0) {
		sleep_secs = atoi(l->argv[i + 1]);
		i += 2;
	} else if (i >= l->argc) {
		fprintf(stderr, "usage: jvm_launcher [-cp CP] MAIN [ARGS...] | --sleep SECONDS\n");
		return NULL;
	}
	if (find_libjvm(lib, sizeof(lib)) != 0) {
		fprintf(stderr, "jvm_launcher: libjvm.so not found (set JAVA_HOME)\n");
		return NULL;
	}
	void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "jvm_launcher: dlopen %s: %s\n", lib, dlerror());
		return NULL;
	}
	create_vm_fn create = (create_vm_fn)dlsym(h, "JNI_CreateJavaVM");
	if (!create) {
		fprintf(stderr, "jvm_launcher: no JNI_CreateJavaVM in %s\n", lib);
		return NULL;
	}

	char cp_opt[PATH_MAX + 32];
	snprintf(cp_opt, sizeof(cp_opt), "-Djava.class.path=%s", cp);
	JavaVMOption opts[1] = { { .optionString = cp_opt } };
	JavaVMInitArgs vm_args = { .version = JNI_VERSION_1_8, .nOptions = 1, .options = opts,
				   .ignoreUnrecognized = JNI_FALSE };
	JavaVM *vm;
	JNIEnv *env;
	if (create(&vm, (void **)&env, &vm_args) != JNI_OK) {
		fprintf(stderr, "jvm_launcher: JNI_CreateJavaVM failed\n");
		return NULL;
	}

	if (sleep_secs >= 0) {
		printf("jvm_launcher ready\n");
		fflush(stdout);
		sleep((unsigned)sleep_secs);
		l->rc = 0;
	} else {
		char cls_name[512];
		snprintf(cls_name, sizeof(cls_name), "%s", l->argv[i]);
		for (char *p = cls_name; *p; p++)
			if (*p == '.')
				*p = '/';
		jclass cls = (*env)->FindClass(env, cls_name);
		jmethodID main = cls ? (*env)->GetStaticMethodID(env, cls, "main", "([Ljava/lang/String;)V") : NULL;
		if (!main) {
			(*env)->ExceptionDescribe(env);
			fprintf(stderr, "jvm_launcher: no main in %s\n", l->argv[i]);
		} else {
			jclass str = (*env)->FindClass(env, "java/lang/String");
			jobjectArray jargs = (*env)->NewObjectArray(env, l->argc - i - 1, str, NULL);
			for (int k = i + 1; k < l->argc; k++)
				(*env)->SetObjectArrayElement(env, jargs, k - i - 1,
							      (*env)->NewStringUTF(env, l->argv[k]));
			(*env)->CallStaticVoidMethod(env, cls, main, jargs);
			if ((*env)->ExceptionCheck(env))
				(*env)->ExceptionDescribe(env);
			else
				l->rc = 0;
		}
	}
	(*vm)->DestroyJavaVM(vm);
	return NULL;
}

int main(int argc, char **argv)
{
	struct launch l = { argc, argv, 1 };
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8 << 20);
	if (pthread_create(&t, &attr, run, &l) != 0) {
		perror("jvm_launcher: pthread_create");
		return 1;
	}
	pthread_join(t, NULL);
	return l.rc;
}
