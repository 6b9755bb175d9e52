# Java programs and agents the tests run.  Sources: tests/java/src/**/*.java, compiled
# together (javassist on the class path); one agent jar per manifest tests/java/agents/NAME.mf
# -> $(BUILD)/java/NAME.jar holding all test classes.  Programs run with
# -cp $(BUILD)/java/classes.
JAVASSIST_JAR := /usr/share/java/javassist.jar
JAVA_SRCS  := $(shell find tests/java/src -name '*.java' 2>/dev/null | sort)
JAVA_MFS   := $(sort $(wildcard tests/java/agents/*.mf))
JAVA_STAMP := $(BUILD)/java/classes/.stamp
JAVA_JARS  := $(patsubst tests/java/agents/%.mf,$(BUILD)/java/%.jar,$(JAVA_MFS))

java: $(JAVA_STAMP) $(JAVA_JARS)

$(JAVA_STAMP): $(JAVA_SRCS) tests/java/java.mk
	$(call msg,JAVAC,$(BUILD)/java/classes)
	$(Q)rm -rf $(@D) && mkdir -p $(@D)
	$(Q)$(if $(JAVA_SRCS),$(JAVAC) -nowarn -cp $(JAVASSIST_JAR) -d $(@D) $(JAVA_SRCS),true)
	$(Q)touch $@

$(BUILD)/java/%.jar: tests/java/agents/%.mf $(JAVA_STAMP)
	$(call msg,JAR,$@)
	$(Q)$(JAR) cfm $@ $< -C $(BUILD)/java/classes .
