/* cnn_results.h - private to the report module: what a CNN results file holds about each run
 * (per-epoch curves, confusion matrix, noise accuracy, size and time, the settings it was trained
 * with), read once for both the tables (report_cnn.c) and the figures (figures_cnn.c). */
#ifndef REPORT_CNN_RESULTS_H
#define REPORT_CNN_RESULTS_H

#include "h5io.h"
#include "job.h"

/* The per-epoch curves of /cnn/<run>/, in this order. */
enum { CR_TRAIN_LOSS, CR_TRAIN_ACC, CR_TEST_LOSS, CR_TEST_ACC, CR_LEARNING_RATE, CR_SECONDS,
       CR_IMAGES_PER_SECOND, CR_NCURVES };
extern const char *const cnn_result_curve_names[CR_NCURVES];

#define CR_NOISE_LEVELS 3
extern const double cnn_result_noise_levels[CR_NOISE_LEVELS];   /* 0.05, 0.01, 0.005 */

typedef struct {
    char *name;                       /* /cnn/runs[i] */
    int done;                         /* /cnn/run_done[i]: finished and stored */
    int epochs;                       /* length of the curves read (0: none in the file) */
    double *curve[CR_NCURVES];        /* [epochs] each, NULL when absent */
    double noise[CR_NOISE_LEVELS];    /* test accuracy under noise; NaN when absent */
    long long nparams;                /* -1 when absent */
    double model_mb, seconds;         /* NaN when absent */
    int *confusion;                   /* [nclasses][nclasses], rows true, columns predicted; or NULL */
    int nclasses;
    const cnn_spec_t *spec;           /* settings from the stored job text, NULL if unavailable */
} cnn_result_t;

typedef struct {
    int n;                            /* runs listed in /cnn/runs, in job order */
    int ndone;
    cnn_result_t *run;                /* [n] */
    job_t job;                        /* parsed /job_text (zeroed when have_job is 0) */
    int have_job;
    char job_error[256];              /* why the settings are unavailable, when have_job is 0 */
} cnn_results_t;

/* Reads every run of the open CNN results file f into r. Whatever a run lacks (an unfinished run
 * has nothing yet) is left NULL/NaN. Returns 0, or NN_ERR_INPUT when /cnn/runs is missing,
 * NN_ERR_NOMEM; r is then empty (safe to free). */
int cnn_results_load(h5file_t *f, cnn_results_t *r);
/* Frees what cnn_results_load allocated; accepts an empty r. */
void cnn_results_free(cnn_results_t *r);

/* Final value of a curve (NaN when absent), its best (max for accuracies) and that epoch (1-based;
 * 0 when absent), and the mean over epochs. */
double cnn_result_last(const cnn_result_t *r, int curve);
double cnn_result_max(const cnn_result_t *r, int curve, int *epoch);
double cnn_result_mean(const cnn_result_t *r, int curve);

#endif
