/* replay.c - runs a fuzz harness without libFuzzer: each file named on the command line is one
 * input to LLVMFuzzerTestOneInput, in order, and "ok - NAME: FILE" is printed after it returns.
 * A crash or a contract violation ends the process there (the file after the last "ok" is the
 * one at fault); tests/test_fuzz_regress.sh reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 16, n = 0, got;
        unsigned char *buf = malloc(cap);
        while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                unsigned char *nb = realloc(buf, cap *= 2);
                if (!nb)
                    free(buf);
                buf = nb;
            }
        }
        fclose(f);
        if (!buf) {
            fprintf(stderr, "%s: out of memory\n", argv[i]);
            return 1;
        }
        /* a copy of exactly n bytes, so a read past the input is seen by AddressSanitizer */
        unsigned char *in = malloc(n ? n : 1);
        if (!in)
            return 1;
        memcpy(in, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(in, n);
        free(in);
        printf("ok - %s: %s\n", name, argv[i]);
        fflush(stdout);
    }
    return 0;
}
