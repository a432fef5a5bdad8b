/* nn_signal.h - SIGTERM and SIGUSR1 (SLURM's time-limit warning) set a flag that the sweep checks
 * at item boundaries (CNN training also at every step); nothing is done inside the handler. A
 * second signal changes nothing. */
#ifndef NN_SIGNAL_H
#define NN_SIGNAL_H

/* Installs the handlers (SA_RESTART). Returns 0 or NN_ERR_RUNTIME. */
int signal_install(void);
/* The first signal caught since installation, or 0. */
int signal_pending(void);
/* For tests: forget a caught signal. */
void signal_reset(void);

#endif
