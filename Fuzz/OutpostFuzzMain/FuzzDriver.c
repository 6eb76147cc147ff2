// The fuzz harness's entry point. SwiftPM links every executable with
// `main` aliased to `<module>_main` (so tests can link executables), which hides
// libFuzzer's own `main`; this hands control to libFuzzer's driver instead.
#include "OutpostFuzzMain.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int outpost_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
