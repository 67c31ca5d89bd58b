# tern - see README.md.  `make run` and `make test` do all the setup.

BUILD       ?= build
ASAN        ?= build-asan
FUZZ        ?= build-fuzz
FUZZ_SECONDS ?= 30
PYTHON      ?= /usr/bin/python3

.PHONY: all run test deps-run deps-test build asan fuzz-build unit \
	integration powerloss fuzz fuzz-long bench format check-format \
	check-docs clean

all: build

deps-run:
	@scripts/deps.sh run
	@scripts/users.sh

deps-test:
	@scripts/deps.sh test
	@scripts/users.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dtests=false

build: deps-run $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	@mkdir -p var
	@echo "tern: listening on 127.0.0.1:2525; send a test message with:" \
	  "swaks --server 127.0.0.1:2525 --to you@localhost" \
	  "(it lands in var/mail/you/new)"
	exec ./$(BUILD)/src/ternd

# Tests run against an AddressSanitizer + UndefinedBehaviorSanitizer build.
$(ASAN)/build.ninja:
	CC=clang meson setup $(ASAN) --buildtype=debugoptimized \
	  -Db_sanitize=address,undefined -Db_lundef=false

asan: deps-test $(ASAN)/build.ninja
	ninja -C $(ASAN)

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) --buildtype=debugoptimized \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true -Dtests=false

fuzz-build: deps-test $(FUZZ)/build.ninja
	ninja -C $(FUZZ)

unit: asan
	meson test -C $(ASAN) --print-errorlogs

integration: asan
	$(PYTHON) tests/integration/run.py --ternd $(ASAN)/src/ternd

# Power cuts at every commit and delivery, and injected I/O errors
# (tests/integration/test_powerloss.py; part of `make test` too).
powerloss: asan
	$(PYTHON) tests/integration/run.py --ternd $(ASAN)/src/ternd \
	  -k test_powerloss

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS) total

fuzz-long: fuzz-build
	tests/fuzz/run.sh $(FUZZ) 600 each

test: check-format check-docs unit integration fuzz
	@echo "tern: all tests passed"

bench: build
	bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

check-format:
	@scripts/check-format.sh

check-docs:
	$(PYTHON) tests/doc/check_params.py
	$(PYTHON) tests/doc/check_replies.py

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
