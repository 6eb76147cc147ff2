#include <stddef.h>
#include <stdint.h>

/// `main` of outpost-fuzz: runs libFuzzer's driver on the Swift harness.
int outpost_fuzz_main(int argc, char **argv);
