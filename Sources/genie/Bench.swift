import ArgumentParser
import Genie
import Models

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Images per second of the engine on a workload (compare with scripts/peer_bench.py).")

    @Option(help: "forward, distill, train, reconstruct, or conv (GFLOP/s of the 16-channel conv layer and of sgemm).")
    var workload: String
    @Option(help: "Architecture.") var arch = "resnet20"
    @Option(help: "Batch size (default 128; 32 for reconstruct).") var batch: Int?
    @Option(help: "Timed iterations (after 3 warm-up ones).") var iterations = 10
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive") }
        if workload == "conv" { return runConvolution() }
        guard let workload = BenchWorkload(rawValue: workload) else {
            throw ValidationError("--workload must be one of \(BenchWorkload.allCases.map(\.rawValue).joined(separator: ", "))")
        }
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

    func runConvolution() {
        let batch = self.batch ?? 128
        let r = benchmarkConvolution(batch: batch, iterations: iterations)
        let passes = [("forward", r.forward), ("backward_data", r.backwardData), ("backward_weights", r.backwardWeights)]
        if json {
            var object: [String: Any] = ["workload": "conv", "batch": batch, "iterations": iterations, "peak_gflops": r.peak]
            for (name, gflops) in passes { object["\(name)_gflops"] = gflops; object["\(name)_percent_of_peak"] = 100 * gflops / r.peak }
            printJSON(object)
        } else {
            print(String(format: "conv 16->16 3x3 on [%d,16,28,28], blocked; peak (sgemm 2048) %.1f GFLOP/s", batch, r.peak))
            for (name, gflops) in passes {
                print("  " + name.padding(toLength: 17, withPad: " ", startingAt: 0)
                      + String(format: "%6.1f GFLOP/s  %5.1f%% of peak", gflops, 100 * gflops / r.peak))
            }
        }
    }
}
