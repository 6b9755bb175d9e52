/*
 * A native JVMTI agent for the tests: loaded at run time (Agent_OnAttach) or at start
 * (Agent_OnLoad), it writes its options into the file they name ("<file>[,tag]": the
 * whole options string is written) and returns 0.  No JVMTI calls: jni.h is not needed.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int write_options(const char *options)
{
	char path[4096];
	const char *comma;
	size_t n;
	int fd;

	if (!options || !*options)
		return 0;
	comma = strchr(options, ',');
	n = comma ? (size_t)(comma - options) : strlen(options);
	if (n >= sizeof(path))
		return 1;
	memcpy(path, options, n);
	path[n] = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	if (write(fd, options, strlen(options)) < 0) {
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

__attribute__((visibility("default"))) int Agent_OnAttach(void *vm, char *options, void *reserved)
{
	(void)vm;
	(void)reserved;
	return write_options(options);
}

__attribute__((visibility("default"))) int Agent_OnLoad(void *vm, char *options, void *reserved)
{
	(void)vm;
	(void)reserved;
	return write_options(options);
}
