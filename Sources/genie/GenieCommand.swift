import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct GenieCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genie",
        abstract: "Data-free quantization of CNNs by GENIE (distill calibration images, then quantize to 2-8 bits).",
        subcommands: [Train.self, Evaluate.self, Distill.self, Merge.self, Quantize.self, Run.self, Bench.self])

    static func main() {
        useSleepingOpenMPWorkers()
        main(nil)
    }

    /// oneDNN's OpenMP workers spin between parallel regions by default; when anything else shares the cores
    /// that spinning slows every step several times over (measured here). libgomp reads its settings only at
    /// start-up, so the process restarts itself once with `OMP_WAIT_POLICY=PASSIVE` unless the user set one.
    static func useSleepingOpenMPWorkers() {
        guard getenv("OMP_WAIT_POLICY") == nil else { return }
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)  // returns only on failure: then run as we are
    }
}
