/* nodlclose.c - preloaded in sanitizer test runs only: makes dlclose a no-op, so the plugins
 * Open MPI and HDF5 unload at finalize stay mapped and LeakSanitizer can name (and the
 * suppressions in tests/lsan.supp can match) what they allocated. */
int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
