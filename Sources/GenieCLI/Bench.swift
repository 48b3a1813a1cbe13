import ArgumentParser
import Data
import Foundation
import Genie
import Models
import Tensors

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Images per second of the engine on a workload (compare with scripts/peer_bench.py).")

    @Option(help: "forward, distill, train, reconstruct, conv (GFLOP/s of the 16-channel conv layer and of sgemm), or loader (--data).")
    var workload: String
    @Option(help: "loader: the image folder read (RGB, ImageNet's mean and std), compare with scripts/bench_loader.sh, which runs torchvision's loader beside it.") var data: String?
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Architecture.") var arch = "resnet20"
    @Option(help: "Batch size (default 128; 32 for reconstruct).") var batch: Int?
    @Option(help: "Timed iterations (after 3 warm-up ones).") var iterations = 10
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive") }
        if workload == "conv" { return runConvolution() }
        if workload == "loader" { return try runLoader() }
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

    /// Reads the whole `--data` folder once in batches (decoding, resizing, cropping, normalizing) and reports images/s.
    func runLoader() throws {
        guard let data else { throw ValidationError("--workload loader needs --data DIR") }
        guard let size = preprocessing.crop ?? preprocessing.resize else { throw ValidationError("--workload loader needs --crop N (or --resize N)") }
        var spec = ModelSpec(arch: arch)
        (spec.inChannels, spec.imageSize, spec.mean, spec.std) = (3, size, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        let folder = try ImageFolder(URL(fileURLWithPath: data))
        let batches = try FolderBatches(folder, batchSize: batch ?? 64, preprocessing: preprocessing.preprocessing(spec))
        let start = Date()
        var images = 0
        for (batch, _) in batches { images += batch.shape[0] }
        try batches.throwIfStopped()
        let seconds = Date().timeIntervalSince(start)
        if json {
            printJSON(["workload": "loader", "images": images, "skipped": batches.skipped.count, "seconds": seconds,
                       "images_per_second": Double(images) / seconds, "peak_rss_mb": peakResidentMegabytes()])
        } else {
            print(String(format: "loader: %d images in %.2f s, %.1f images/s, peak RSS %.0f MB", images, seconds,
                         Double(images) / seconds, peakResidentMegabytes()))
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
