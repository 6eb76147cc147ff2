import Testing

/// Every masking suite, one test at a time. The property and boundary tests are
/// CPU-bound: run in parallel they would hold every thread Swift's concurrency has
/// for seconds (two on this machine), and timing checks in other suites of the same
/// run (a 200 ms timeout, a bounded retry) would come late.
@Suite(.serialized) enum MaskingSuite {}
