# soak - top-level entry points. The real build is meson (build/); this file
# only gives the README's commands their short names.
#   make          build build/soakd and build/soak
#   make test     install missing packages, build, run every test (unit, integration, ASan+UBSan)
#   make demo     install missing packages, build, run the simulated farm with the dashboard
#   make bench    run the benchmarks in bench/ side by side with their peers
#   make fuzz     build the libFuzzer harnesses and run each for FUZZ_SECONDS
#   make agent-aarch64   cross-build a static soakd for the boards (build-aarch64/soakd)

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
MESON ?= meson

.PHONY: all deps test test-fast test-asan demo bench fuzz agent-aarch64 clean format

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@ln -sf src/agent/soakd $(BUILD)/soakd
	@[ ! -e $(BUILD)/src/server/soak ] || ln -sf src/server/soak $(BUILD)/soak

$(BUILD)/build.ninja:
	@command -v meson >/dev/null 2>&1 || scripts/install-deps.sh build
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

deps:
	scripts/install-deps.sh test

test: deps all
	scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

test-fast: all
	$(MESON) test -C $(BUILD) --print-errorlogs

demo:
	scripts/install-deps.sh test
	$(MAKE) all
	scripts/demo.sh $(BUILD)

bench:
	scripts/install-deps.sh bench
	$(MAKE) all
	bench/run.sh $(BUILD)

fuzz:
	scripts/install-deps.sh test
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

agent-aarch64:
	scripts/build-agent-aarch64.sh build-aarch64

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-aarch64

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
