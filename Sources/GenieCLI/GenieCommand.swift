import ArgumentParser
import Genie
#if canImport(Glibc)
import Glibc
#endif

@main
struct GenieCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genie",
        abstract: "Data-free quantization of CNNs by GENIE (distill calibration images, then quantize to 2-8 bits).",
        version: genieVersion,
        subcommands: [Train.self, Evaluate.self, Distill.self, Merge.self, Quantize.self, Run.self, Export.self, Bench.self])

    static func main() {
        limitOpenMPSpinning()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: inFlagWords(error))
        }
    }

    /// oneDNN's OpenMP workers spin between parallel regions (libgomp: 300k spins, or forever with ACTIVE); when
    /// anything else shares the cores that spinning slows every step several times over, while never spinning
    /// (PASSIVE) costs 5-20% on a quiet machine (both measured on the 2-core machine of BENCHMARKS.md). libgomp reads its settings
    /// only at start-up, so the process restarts itself once with a short spin unless the user chose a policy.
    static func limitOpenMPSpinning() {
        guard getenv("OMP_WAIT_POLICY") == nil, getenv("GOMP_SPINCOUNT") == nil else { return }
        setenv("GOMP_SPINCOUNT", "30000", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)  // returns only on failure: then run as we are
    }
}
