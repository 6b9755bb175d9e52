# jvmwatch build.  `make` builds everything into $(BUILD); `make V=1` shows the commands.
#
#   make deps    install the Debian packages the build and the tests need (apt-get)
#   make         build build/bin/jvmwatch, build/bin/jvmwatchd and the tests
#   make test    deps + build + every test (root tests run when root; see tests/README.md)
#   make run     deps + build + the main job (jvmwatchd with its embedded default config;
#                one text line per event on a terminal, JSON Lines into a pipe)
#   make deb     build/jvmwatch_<VERSION>_<arch>.deb from the built binaries (docs/packaging.md)
#   make bench   the benchmarks in bench/ (not part of `make test`)
#   make fuzz    each libFuzzer target (tests/fuzz) for FUZZ_SECONDS (default 180) with ASan+UBSan
#   make fuzz-smoke  each fuzz target for a few seconds on its committed corpus (part of `make test`)
#   make asan    the unit tests built with ASan+UBSan into $(ASAN_BUILD), and run

BUILD     ?= build
CXX       ?= g++
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= $(firstword $(wildcard /usr/sbin/bpftool /usr/bin/bpftool) bpftool)
JAVAC     ?= javac
JAR       ?= jar
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
  Q =
  msg =
else
  Q = @
  msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS      := libbpf spdlog yaml-cpp re2 libsystemd prometheus-cpp-pull prometheus-cpp-core
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CXXFLAGS  ?= -O2 -g
CXXFLAGS  += -std=c++20 -Wall -Wextra -Werror -pthread $(SAN_FLAGS)
CPPFLAGS  += -Iinclude -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS    += $(PKG_LIBS) -lelf -lz -pthread
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Iinclude

# ---- sources ---------------------------------------------------------------
# Every .cc under attach/ is the attach engine library; every .cc under userspace/
# except the two mains is the daemon/CLI library.  New files need no Makefile edit.
ATTACH_SRCS := $(sort $(wildcard attach/*.cc))
CORE_SRCS   := $(sort $(filter-out userspace/cli/main.cc userspace/daemon/main.cc,\
                 $(wildcard userspace/*/*.cc)))
BPF_SRCS    := $(sort $(wildcard bpf/*.bpf.c))
UNIT_SRCS   := $(sort $(wildcard tests/unit/*.cc tests/common/*.cc))
INTEG_SRCS  := $(sort $(wildcard tests/integration/*.cc tests/common/*.cc))
NATIVE_SRCS := $(sort $(wildcard tests/native/*.c))
NATIVE_AGENT_SRCS := $(sort $(wildcard tests/native/agents/*.c))

obj = $(patsubst %.cc,$(BUILD)/obj/%.o,$(1))
ATTACH_OBJS := $(call obj,$(ATTACH_SRCS))
CORE_OBJS   := $(call obj,$(CORE_SRCS))
UNIT_OBJS   := $(call obj,$(UNIT_SRCS))
INTEG_OBJS  := $(call obj,$(INTEG_SRCS))
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
# One skeleton: the objects of bpf/ (one per concern) linked into one.
SKELS       := $(BUILD)/gen/jvmwatch.skel.h

# ---- version (VERSION, userspace/common/build_info.cc) -------------------------
# The version is the VERSION file; the commit is `git describe --always --dirty` when the
# tree is a git checkout (nothing otherwise).  Both reach build_info.cc alone as -D flags;
# the stamp changes whenever either does, so only that file is recompiled.
VERSION_STRING := $(strip $(file <VERSION))
ifeq ($(shell printf '%s' '$(VERSION_STRING)' | grep -Ex '[0-9A-Za-z.+~-]{1,64}'),)
  $(error VERSION must hold one version such as 0.1.0 (letters, digits, . + ~ -), not '$(VERSION_STRING)')
endif
GIT_COMMIT := $(if $(wildcard .git),$(shell git describe --always --dirty 2>/dev/null | grep -Ex '[0-9A-Za-z._+~-]{1,80}'))
BUILD_INFO_DEFS := -DJVMWATCH_VERSION='"$(VERSION_STRING)"' -DJVMWATCH_GIT_COMMIT='"$(GIT_COMMIT)"'
BUILD_INFO_OBJ  := $(BUILD)/obj/userspace/common/build_info.o
$(BUILD_INFO_OBJ): CPPFLAGS += $(BUILD_INFO_DEFS)
$(BUILD_INFO_OBJ): $(BUILD)/gen/build_info.stamp
$(BUILD)/gen/build_info.stamp: FORCE | $(BUILD)/gen
	@printf '%s %s\n' '$(VERSION_STRING)' '$(GIT_COMMIT)' | cmp -s - $@ || \
	  printf '%s %s\n' '$(VERSION_STRING)' '$(GIT_COMMIT)' > $@
FORCE:

LIB_ATTACH := $(BUILD)/lib/libjvmwatch_attach.a
LIB_CORE   := $(BUILD)/lib/libjvmwatch_core.a
BINS       := $(BUILD)/bin/jvmwatch $(BUILD)/bin/jvmwatchd
TEST_BINS  := $(BUILD)/bin/unit_tests $(BUILD)/bin/integration_tests \
              $(patsubst tests/native/%.c,$(BUILD)/bin/%,$(NATIVE_SRCS)) \
              $(patsubst tests/native/agents/%.c,$(BUILD)/lib/lib%.so,$(NATIVE_AGENT_SRCS))

.PHONY: all deps deb test unit-test integration-test run bench clean vmlinux java \
        fuzz fuzz-build fuzz-smoke fuzz-event-seeds asan
.DEFAULT_GOAL := all

all: $(BINS) $(TEST_BINS) java

# ---- BPF -------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/vmlinux.h $(wildcard bpf/*.h include/jvmwatch/*.h) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Keep the skeletons and objects: make would delete them as intermediates.
.PRECIOUS: $(BUILD)/bpf/%.bpf.o $(BUILD)/bpf/jvmwatch.o $(BUILD)/gen/%.skel.h

$(BUILD)/bpf/jvmwatch.o: $(BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/gen/jvmwatch.skel.h: $(BUILD)/bpf/jvmwatch.o | $(BUILD)/gen
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name jvmwatch_bpf > $@.tmp && mv $@.tmp $@

# bpf/vmlinux.h is committed; this regenerates it from the running kernel.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

# ---- C++ -------------------------------------------------------------------
$(BUILD)/obj/%.o: %.cc | $(SKELS)
	$(call msg,CXX,$<)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(LIB_ATTACH): $(ATTACH_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_CORE): $(CORE_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

LIBS := $(LIB_CORE) $(LIB_ATTACH)

# The CLI is linked statically: loading and binding libstdc++, libbpf, libelf and libz
# was most of the CPU a warm `jvmwatch attach` spent (perf stat, 500 runs: 1.18 ms
# dynamic, 0.91 ms static, jattach 0.96 ms).  It needs no other library (the daemon's
# spdlog, yaml-cpp, re2 are not linked in).  glibc warns that getpwuid_r (user names in
# `ps`) loads NSS modules at run time: they come from the same Debian glibc.
CLI_LDLIBS := -static -lbpf -lelf -lz -pthread
$(BUILD)/bin/jvmwatch: $(call obj,userspace/cli/main.cc) $(LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(CLI_LDLIBS) -o $@ 2>$@.ldlog; rc=$$?; \
	  grep -v -e 'statically linked applications requires' -e 'in function' $@.ldlog >&2; \
	  rm -f $@.ldlog; exit $$rc

$(BUILD)/bin/jvmwatchd: $(call obj,userspace/daemon/main.cc) $(LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bin/unit_tests: $(UNIT_OBJS) $(LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(LDLIBS) -lgtest -lgtest_main -o $@

$(BUILD)/bin/integration_tests: $(INTEG_OBJS) $(LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(LDLIBS) -lgtest -lgtest_main -o $@

# Small C programs the tests run (e.g. a launcher that embeds libjvm).
JAVA_HOME_DIR := $(shell dirname $$(dirname $$(readlink -f $$(command -v $(JAVAC) 2>/dev/null) 2>/dev/null)) 2>/dev/null)
$(BUILD)/bin/%: tests/native/%.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -I$(JAVA_HOME_DIR)/include -I$(JAVA_HOME_DIR)/include/linux \
	  $< -o $@ -ldl -lpthread

# Native JVMTI agents the tests load (build/lib/lib<name>.so).
$(BUILD)/lib/lib%.so: tests/native/agents/%.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden $< -o $@

# Observer benchmark programs (bench/observer_*.sh builds them; not part of `all`).
$(BUILD)/bin/observer_bench: $(call obj,bench/observer_bench.cc) $(LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(LDLIBS) -o $@

# Metrics scrape benchmark (bench/metrics_scrape.sh builds it; not part of `all`).
$(BUILD)/bin/metrics_scrape_bench: $(call obj,bench/metrics_scrape.cc) $(LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bin/observer_syscall_loop: bench/observer_syscall_loop.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

$(BUILD)/bin/unix_connect_loop: bench/unix_connect_loop.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

$(BUILD)/bin/observer_true: bench/observer_true.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -static $(if $(filter x86,$(ARCH)),-nostdlib) $< -o $@

# ---- Java test programs and agents (tests/java/java.mk) -----------------------
include tests/java/java.mk

$(BUILD)/bpf $(BUILD)/gen:
	@mkdir -p $@

# ---- fuzzing (tests/fuzz, docs/fuzzing.md) ---------------------------------------
# libFuzzer targets tests/fuzz/NAME_fuzzer.cc, built with clang, ASan and UBSan into
# $(BUILD)/fuzz.  Each compiles only the project sources it needs (fuzz_srcs_NAME).
FUZZ_CXX          ?= clang++
FUZZ_SECONDS      ?= 180
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CXXFLAGS := -std=c++20 -O1 -gline-tables-only -fno-omit-frame-pointer -Wall -Wextra -Werror \
                 -pthread $(FUZZ_SAN)
FUZZ_CPPFLAGS := -Iinclude -I. $(PKG_CFLAGS) -MMD -MP
FUZZ_TARGETS  := reply_parser attach_request event_decoder daemon_config policy_parser \
                 json_string proc_status proc_stat proc_maps proc_nul_list proc_cgroup elf_symbols \
                 api_request jar_manifest
POLICY_SRCS   := $(addprefix userspace/policy/,policy_parser.cc yaml_reader.cc pattern.cc \
                   version_range.cc agent_file_check.cc sha256.cc) attach/safe_fs.cc \
                 userspace/artifacts/jar_manifest.cc userspace/artifacts/zip_entry.cc
fuzz_srcs_reply_parser   := attach/protocol.cc
fuzz_srcs_attach_request := userspace/daemon/attach_request.cc attach/protocol.cc
fuzz_srcs_event_decoder  := userspace/daemon/event_decoder.cc userspace/daemon/raw_event_json.cc \
                            userspace/audit/json_line.cc
fuzz_srcs_daemon_config  := userspace/daemon/daemon_config.cc userspace/policy/alert_rules.cc \
                            userspace/policy/deny_rules.cc \
                            $(POLICY_SRCS)
fuzz_srcs_policy_parser  := $(POLICY_SRCS)
fuzz_srcs_json_string    := userspace/audit/json_line.cc
fuzz_srcs_proc_status    := attach/procfs.cc
fuzz_srcs_proc_stat      := attach/procfs.cc
fuzz_srcs_proc_maps      := attach/procfs.cc
fuzz_srcs_proc_nul_list  := attach/procfs.cc
fuzz_srcs_proc_cgroup    := attach/procfs.cc
fuzz_srcs_api_request    := userspace/api/api_request.cc userspace/api/api_state.cc userspace/api/since.cc
fuzz_srcs_elf_symbols    := userspace/observer/elf_symbols.cc userspace/observer/jdk_probe_symbols.cc
fuzz_srcs_jar_manifest   := userspace/artifacts/jar_manifest.cc userspace/artifacts/zip_entry.cc
fuzz_libs_jar_manifest   := -lz
fuzz_libs_policy_parser  := -lz
fuzz_libs_daemon_config  := -lz

fuzz_obj  = $(patsubst %.cc,$(BUILD)/fuzz/obj/%.o,$(1))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/%_fuzzer,$(FUZZ_TARGETS))

$(BUILD)/fuzz/obj/%.o: %.cc
	$(call msg,FUZZ-CXX,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CXX) $(FUZZ_CPPFLAGS) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

define fuzz_link
$(BUILD)/fuzz/$(1)_fuzzer: $(call fuzz_obj,tests/fuzz/$(1)_fuzzer.cc $(fuzz_srcs_$(1)))
	$$(call msg,LINK,$$@)
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $$^ $(PKG_LIBS) $(fuzz_libs_$(1)) -pthread -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_link,$(t))))

fuzz-build: $(FUZZ_BINS)

# Regenerates the event decoder's seeds from the recorded fixtures (committed; run by hand).
$(BUILD)/fuzz/gen_event_seeds: $(call fuzz_obj,tests/fuzz/gen_event_seeds.cc userspace/daemon/raw_event_json.cc)
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $^ -o $@
fuzz-event-seeds: $(BUILD)/fuzz/gen_event_seeds
	rm -rf tests/fuzz/corpus/event_decoder && mkdir -p tests/fuzz/corpus/event_decoder
	$< tests/fuzz/corpus/event_decoder tests/fixtures/events/*.jsonl

fuzz: fuzz-build
	tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	tests/fuzz/run.sh --smoke $(BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# ---- sanitizer build of the unit tests -------------------------------------------
# The same build with ASan+UBSan (gcc) in its own directory; any report fails the run.
# GCC 12's -Wmaybe-uninitialized misfires on libstdc++'s <regex> under the sanitizers.
ASAN_BUILD ?= build-asan
ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
              -Wno-maybe-uninitialized
asan:
	$(MAKE) BUILD=$(ASAN_BUILD) SAN_FLAGS="$(ASAN_FLAGS)" $(ASAN_BUILD)/bin/unit_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(ASAN_BUILD)/bin/unit_tests --gtest_color=no $(ASAN_TEST_ARGS)

# ---- Debian package (tools/build-deb.sh, packaging/deb, docs/packaging.md) ---------------
# Packs the binaries `all` built (no second compile); the package test installs it.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB      := $(BUILD)/jvmwatch_$(VERSION_STRING)_$(DEB_ARCH).deb
deb: $(DEB)
$(DEB): $(BINS) tools/build-deb.sh $(wildcard packaging/deb/* packaging/*.service docs/*.md docs/examples/*) \
        docs/events.schema.json README.md VERSION
	$(call msg,DEB,$@)
	$(Q)tools/build-deb.sh $(BUILD) >/dev/null

# ---- top-level jobs ------------------------------------------------------------
deps:
	@tools/install-deps.sh

# The package is built before the tests: the integration tests install it.
test: deps
	$(MAKE) all fuzz-build deb
	FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" tools/run-tests.sh $(BUILD)

unit-test: all
	$(BUILD)/bin/unit_tests

integration-test: all
	$(BUILD)/bin/integration_tests

# Human one-line events on a terminal, JSON Lines into a pipe or file (RUN_ARGS come last
# and may say otherwise).
run: deps
	$(MAKE) all
	@if [ -t 1 ]; then output=text; else output=json; fi; \
	  set -x; exec $(BUILD)/bin/jvmwatchd --output $$output $(RUN_ARGS)

bench: all
	bench/run-all.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
