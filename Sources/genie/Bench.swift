import ArgumentParser
import Genie
import Models

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Images per second of the engine on a workload (compare with scripts/peer_bench.py).")

    @Option(help: "forward, distill, train or reconstruct.") var workload: String
    @Option(help: "Architecture.") var arch = "resnet20"
    @Option(help: "Batch size (default 128; 32 for reconstruct).") var batch: Int?
    @Option(help: "Timed iterations (after 3 warm-up ones).") var iterations = 10
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard let workload = BenchWorkload(rawValue: workload) else {
            throw ValidationError("--workload must be one of \(BenchWorkload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive") }
        let batch = self.batch ?? (workload == .reconstruct ? 32 : 128)
        let spec = try ModelSpec(arch: arch).validated()
        let r = try benchmark(workload, spec: spec, batch: batch, iterations: iterations)
        if json {
            printJSON(["workload": workload.rawValue, "arch": arch, "batch": batch, "iterations": iterations,
                       "images_per_second": r.imagesPerSecond, "median_ms": r.medianSeconds * 1000,
                       "peak_rss_mb": r.peakResidentMegabytes])
        } else {
            print(String(format: "%@ %@ batch %d: %.1f images/s (median %.2f ms over %d iterations), peak RSS %.0f MB",
                         workload.rawValue, arch, batch, r.imagesPerSecond, r.medianSeconds * 1000, iterations, r.peakResidentMegabytes))
        }
    }
}
