/*
 * replay_main.c - run a libFuzzer target over files without libFuzzer.
 *
 * `make test` and `make asan` link each fuzz target with this driver (gcc,
 * no -fsanitize=fuzzer) and feed it the target's seed corpus, so every seed
 * is checked on every run, under the sanitizers in `make asan`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (4u << 20)

int main(int argc, char **argv)
{
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        size_t len;

        if (f == NULL) {
            fprintf(stderr, "replay: cannot open %s\n", argv[i]);
            return 1;
        }
        buf = malloc(REPLAY_MAX);
        if (buf == NULL) {
            fclose(f);
            return 1;
        }
        len = fread(buf, 1, REPLAY_MAX, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("replayed %d input(s)\n", n);
    return 0;
}
