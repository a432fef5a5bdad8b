/* dataset_checks.h - the contract checks the dataset-reader harnesses (fuzz_idx.c,
 * fuzz_cifar.c) share: a raw reader's failure, and dataset_load on files a reader accepted. */
#ifndef DATASET_CHECKS_H
#define DATASET_CHECKS_H

#include "dataset.h"

/* After a raw reader (idx_read, cifar_read) returned rc != 0 on the n files paths: rc is an input
 * error or out of memory, the message names one of the files, and *raw is untouched (the harness
 * filled it with 0xA5 bytes before the call). */
void fuzz_check_read_failure(int rc, const rawdata_t *raw, const char *const *paths, int n);

/* dataset_load(spec) on the directory of the scratch file `file` (spec->path is set to it): an
 * input error or out of memory, or the asked train and test sizes with dim features (0: any). */
void fuzz_check_dataset_load(data_spec_t *spec, const char *file, int dim);

#endif
