# nitrowallet - build, test and check.
#
#   make            build the libraries, binaries, tests and fuzz replayers into build/
#   make test       install what is missing, build, run every test
#   make asan       the whole test suite under AddressSanitizer + UBSan (build/asan/)
#   make fuzz       libFuzzer targets (clang), each run FUZZ_SECONDS (build/fuzz/)
#   make run        install, build, start the local stack (kms, enclave, host) until Ctrl-C
#   make bench      the benchmark table: throughput and latency against raw libsecp256k1
#
# Objects go to $(BUILD)/obj, mirroring src/.  Nothing is written outside build/.

BUILD       ?= build
CC          ?= cc
SAN         ?=
FUZZ_SECONDS ?= 30
PKG_CONFIG  ?= pkg-config

PKGS        := libsecp256k1 libssl libcrypto libcjson sqlite3 libmicrohttpd libcurl
PKG_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
TEST_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN        := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
               -Wvla -Wpointer-arith
CPPFLAGS    += -Iinclude -D_GNU_SOURCE $(PKG_CFLAGS)
CFLAGS      ?= -O2 -g
CFLAGS      += -std=c11 $(WARN) -fstack-protector-strong -fno-strict-aliasing
LDLIBS      += $(PKG_LIBS) -lpthread
# Every binary is linked against the same library list; --as-needed keeps a
# shared library out of a binary that uses none of it (the enclave must not
# carry libmicrohttpd or SQLite: tests/suites/enclave_tcb.sh checks).
LDFLAGS     += -Wl,--as-needed

ifeq ($(SAN),asan)
CFLAGS      := -O1 -g -std=c11 $(WARN) -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS     += -fsanitize=address,undefined
else
CPPFLAGS    += -D_FORTIFY_SOURCE=2
endif

# --- sources, by layer (see docs/architecture.md) ---------------------------
# One archive per layer, named after its folder:
# libnitrowallet-core:    src/core, encoding, crypto, eth: the signing core (keys live here).
# libnitrowallet-net:     src/net: unix/TCP/vsock transports, TLS, the bounded HTTP/1.1 client.
# libnitrowallet-attest:  src/attest: CBOR, COSE, attestation documents, the NSM, dev CAs, X.509.
# libnitrowallet-aws:     src/aws: SigV4, KMS JSON, CMS, the enclave's KMS client, the credential chain.
# libnitrowallet-proto:   src/proto: the host <-> enclave protocol, the one thing both sides share.
# libnitrowallet-policy:  src/policy: account policies, pure code (parse, validate, evaluate).
# libnitrowallet-kms:     src/kms: the nitrowallet-kms emulator's server side (never in the enclave).
# libnitrowallet-enclave: src/enclave: the enclave daemon's server, worker pool and operations.
# libnitrowallet-host:    src/host (+ api/, storage/): the host's API, storage, enclave pool, KMS
#                         proxy (never in the enclave).
# Binaries link the archives they need, higher layers first (ALL_LIBS); a
# static archive contributes only the objects a binary references.
CORE_SRC    := $(wildcard src/core/*.c) $(wildcard src/encoding/*.c) \
               $(wildcard src/crypto/*.c) $(wildcard src/eth/*.c)
NET_SRC     := $(wildcard src/net/*.c)
ATTEST_SRC  := $(wildcard src/attest/*.c)
AWS_SRC     := $(wildcard src/aws/*.c)
PROTO_SRC   := $(wildcard src/proto/*.c)
POLICY_SRC  := $(wildcard src/policy/*.c)
KMS_SRC     := $(wildcard src/kms/*.c)
ENCLAVE_SRC := $(wildcard src/enclave/*.c)
HOST_SRC    := $(wildcard src/host/*.c) $(wildcard src/host/api/*.c) $(wildcard src/host/storage/*.c)
CORE_LIB    := $(BUILD)/lib/libnitrowallet-core.a
NET_LIB     := $(BUILD)/lib/libnitrowallet-net.a
ATTEST_LIB  := $(BUILD)/lib/libnitrowallet-attest.a
AWS_LIB     := $(BUILD)/lib/libnitrowallet-aws.a
PROTO_LIB   := $(BUILD)/lib/libnitrowallet-proto.a
POLICY_LIB  := $(BUILD)/lib/libnitrowallet-policy.a
KMS_LIB     := $(BUILD)/lib/libnitrowallet-kms.a
ENCLAVE_LIB := $(BUILD)/lib/libnitrowallet-enclave.a
HOST_LIB    := $(BUILD)/lib/libnitrowallet-host.a
ALL_LIBS    := $(HOST_LIB) $(ENCLAVE_LIB) $(KMS_LIB) $(PROTO_LIB) $(AWS_LIB) $(ATTEST_LIB) $(NET_LIB) $(POLICY_LIB) $(CORE_LIB)

CMDS        := $(notdir $(wildcard cmd/*))
CMD_BIN     := $(CMDS:%=$(BUILD)/bin/%)

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC    := $(wildcard tests/tools/*.c)
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)
ORACLE_BIN  := $(BUILD)/tests/oracle_check
# The free()-scanning LD_PRELOAD shim (tests/shim/freescan.c) wraps glibc's
# allocator, which ASan owns: plain builds only.
SHIM_SO     := $(if $(SAN),,$(BUILD)/tests/freescan.so)

BENCH_SRC   := $(wildcard bench/*.c)
BENCH_BIN   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

FUZZ_SRC    := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES  := $(FUZZ_SRC:fuzz/%.c=%)
REPLAY_BIN  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)

.SECONDARY:
.PHONY: all test asan fuzz fuzz-build run bench bootstrap clean format check-banned
.DEFAULT_GOAL := all

all: $(ALL_LIBS) $(CMD_BIN) $(UNIT_BIN) $(TOOL_BIN) $(ORACLE_BIN) $(REPLAY_BIN) $(BENCH_BIN) $(SHIM_SO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

define archive
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
endef
$(CORE_LIB): $(CORE_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(NET_LIB): $(NET_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(ATTEST_LIB): $(ATTEST_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(AWS_LIB): $(AWS_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(PROTO_LIB): $(PROTO_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(POLICY_LIB): $(POLICY_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(KMS_LIB): $(KMS_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(ENCLAVE_LIB): $(ENCLAVE_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)
$(HOST_LIB): $(HOST_SRC:%.c=$(BUILD)/obj/%.o) ; $(archive)

# Each cmd/<name>/ directory is one binary build/bin/<name>.
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(addsuffix .o,$$(addprefix $(BUILD)/obj/,$$(basename $$(wildcard cmd/%/*.c)))) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/freescan.so: tests/shim/freescan.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c11 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -lpthread

$(ORACLE_BIN): $(BUILD)/obj/tests/oracle/oracle_check.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/replay_main.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bootstrap:
	@scripts/bootstrap.sh

test: bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/check-banned.sh
	@tests/run.sh $(BUILD)

asan: bootstrap
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=asan all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh build/asan

# libFuzzer needs clang; each target is linked against a clang-built core.
FUZZ_CFLAGS := -O1 -g -std=c11 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
# The link runs in a sub-make so that $(LDLIBS) is read after bootstrap has
# installed the -dev packages (on a fresh machine it is empty before).
fuzz: bootstrap
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build/fuzz-obj CC=clang CFLAGS="$(FUZZ_CFLAGS)" SAN=fuzz \
	  $(ALL_LIBS:$(BUILD)/%=build/fuzz-obj/%)
	@mkdir -p build/fuzz
	@for t in $(FUZZ_NAMES); do \
	  clang $(CPPFLAGS) -O1 -g -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    fuzz/$$t.c $(ALL_LIBS:$(BUILD)/%=build/fuzz-obj/%) $(LDLIBS) -o build/fuzz/$$t || exit 1; \
	done

# The local stack until Ctrl-C (scripts/run-local.sh; state in $NITROWALLET_HOME).
run: bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/run-local.sh $(BUILD)

# The benchmark table (scripts/bench.sh; docs/performance.md); BENCH_SECONDS per run.
bench: bootstrap
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh $(BUILD)

check-banned:
	@scripts/check-banned.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
