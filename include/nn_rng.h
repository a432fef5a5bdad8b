/* nn_rng.h - reproducible random numbers: xoshiro256** seeded through splitmix64.
 * The state is four plain integers so it can be checkpointed and restored bit for bit.
 * Streams for (seed, rank, step) come from rng_seed_stream(), never from time or pid. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_t;

/* Seeds from one 64-bit value. */
void rng_seed(rng_t *r, uint64_t seed);
/* Seeds an independent stream for a tuple of integers, e.g. (seed, rank, step). */
void rng_seed_stream(rng_t *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t rng_next(rng_t *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform(rng_t *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Standard normal (Box-Muller, both values used). */
double rng_normal(rng_t *r);
/* Fisher-Yates shuffle of an int array. */
void rng_shuffle_int(rng_t *r, int *a, int n);

#endif
