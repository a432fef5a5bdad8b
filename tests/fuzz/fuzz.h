/* fuzz.h - what the libFuzzer harnesses (tests/fuzz/fuzz_*.c) share: the entry point libFuzzer
 * calls, and scratch files for readers that take a path. Each harness is linked twice: with
 * libFuzzer (make fuzz, build-fuzz/) and with replay.c (make test replays tests/fuzz/regress and
 * the seed corpora through the normal and the sanitizer builds). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point: one input; returns 0. A contract violation aborts (a "crash"). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes n bytes to the scratch file name (no '/') in this process's directory
 * $NNSWEEP_FUZZ_DIR/nnsweep-fuzz.PID (else under /dev/shm, else /tmp) and returns its path
 * (static storage, the same for every call with that name). Aborts if it cannot write. The files
 * and the directory are removed at exit. */
const char *fuzz_file(const char *name, const void *data, size_t n);
/* The path fuzz_file would use for name, without writing (for a file that must not exist). */
const char *fuzz_path(const char *name);

/* Aborts with "fuzz contract: <what>" and the last nnsweep error message when cond is false. */
#define FUZZ_CHECK(cond, what) fuzz_check((cond), (what), __FILE__, __LINE__)
void fuzz_check(int cond, const char *what, const char *file, int line);

/* Silences nnsweep's info log and HDF5's error printing (once); the fuzzers run millions of
 * inputs and only a contract violation should print. */
void fuzz_quiet(void);

#endif
