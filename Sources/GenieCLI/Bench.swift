import ArgumentParser
import Data
import Foundation
import Genie
import Models
import Tensors

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Images per second of the engine on a workload (compare with scripts/peer_bench.py).")

    /// What `bench` times: a model workload of `BenchWorkload`, the convolution layer, or the image loader.
    enum Workload: String, CaseIterable, ExpressibleByArgument {
        case forward, distill, train, reconstruct, conv, loader
    }

    @Option(help: "forward, distill, train, reconstruct, conv (GFLOP/s of a 3x3 conv layer, --channels in and out on --image-size maps, and of sgemm), or loader (--data).")
    var workload: Workload
    @Option(help: "loader: the image folder read (RGB, ImageNet's mean and std), compare with scripts/bench_loader.sh, which runs torchvision's loader beside it.") var data: String?
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Architecture: \(ModelSpec.architectures.joined(separator: ", ")).") var arch = "resnet20"
    @Option(help: "Input height and width (28; 224 for ImageNet-size runs; a multiple of 4 for distill).") var imageSize = 28
    @Option(help: "Input channels (1; 3 for RGB).") var inChannels = 1
    @Option(name: [.customLong("classes"), .customLong("num-classes")], help: "Number of classes.") var classes = 10
    @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Images per batch (default 128; 32 for reconstruct, 64 for loader; --batch is the old name).")
    var batchSize: Int?
    @Option(help: "conv: channels in and out of the layer.") var channels = 16
    @Option(help: "Timed iterations (after the warm-up ones).") var iterations = 10
    @Option(help: "Untimed warm-up iterations first.") var warmup = 3
    @Flag(help: "Print one JSON object.") var json = false

    /// The `--json` record of a model workload.
    struct Record: Encodable {
        var workload: String, arch: String, imageSize: Int, inChannels: Int, classes: Int
        var batch: Int, iterations: Int, imagesPerSecond: Double, medianMs: Double, peakRssMb: Double
    }

    /// The `--json` record of the loader.
    struct LoaderRecord: Encodable {
        var workload = "loader"
        var images: Int, skipped: Int, seconds: Double, imagesPerSecond: Double, peakRssMb: Double
    }

    /// The `--json` record of the convolution: GFLOP/s of each pass and its share of sgemm's.
    struct ConvolutionRecord: Encodable {
        var workload = "conv"
        var batch: Int, channels: Int, imageSize: Int, iterations: Int, peakGflops: Double
        var forwardGflops: Double, backwardDataGflops: Double, backwardWeightsGflops: Double
        var forwardPercentOfPeak: Double, backwardDataPercentOfPeak: Double, backwardWeightsPercentOfPeak: Double
    }

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative, got \(warmup)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if workload == .conv {
            guard channels >= 1 else { throw ValidationError("--channels must be at least 1, got \(channels)") }
            guard imageSize >= 1 else { throw ValidationError("--image-size must be at least 1, got \(imageSize)") }
        }
    }

    func run() throws {
        switch workload {
        case .conv: return try runConvolution()
        case .loader: return try runLoader()
        default: break
        }
        let workload = BenchWorkload(rawValue: workload.rawValue)!  // the four model workloads share their names
        let batch = batchSize ?? (workload == .reconstruct ? 32 : 128)
        // Mean and std do not change the work; the count keeps an out-of-range --in-channels for validated() to name.
        let spec = try ModelSpec(arch: arch, numClasses: classes, inChannels: inChannels, imageSize: imageSize,
                                 mean: Array(repeating: 0, count: max(inChannels, 0)),
                                 std: Array(repeating: 1, count: max(inChannels, 0))).validated()
        let r = try benchmark(workload, spec: spec, batch: batch, iterations: iterations, warmup: warmup)
        if json {
            try printJSON(Record(workload: workload.rawValue, arch: arch, imageSize: imageSize, inChannels: inChannels,
                                 classes: classes, batch: batch, iterations: iterations, imagesPerSecond: r.imagesPerSecond,
                                 medianMs: r.medianSeconds * 1000, peakRssMb: r.peakResidentMegabytes))
        } else {
            print(String(format: "%@ %@ %dx%dx%d batch %d: %.1f images/s (median %.2f ms over %d iterations), peak RSS %.0f MB",
                         workload.rawValue, arch, inChannels, imageSize, imageSize, batch, r.imagesPerSecond,
                         r.medianSeconds * 1000, iterations, r.peakResidentMegabytes))
        }
    }

    /// Reads the whole `--data` folder once in batches (decoding, resizing, cropping, normalizing) and reports images/s.
    func runLoader() throws {
        guard let data else { throw ValidationError("--workload loader needs --data DIR") }
        guard let size = preprocessing.crop ?? preprocessing.resize else { throw ValidationError("--workload loader needs --crop N (or --resize N)") }
        let folder = try ImageFolder(URL(fileURLWithPath: data))
        let preprocessing = try Preprocessing(channels: 3, size: size, resize: preprocessing.resize, crop: preprocessing.crop,
                                              normalization: Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])).validated()
        let batches = try FolderBatches(folder, batchSize: batchSize ?? 64, preprocessing: preprocessing)
        let start = Date()
        var images = 0
        for (batch, _) in batches { images += batch.shape[0] }
        try batches.throwIfStopped()
        let seconds = Date().timeIntervalSince(start)
        if json {
            try printJSON(LoaderRecord(images: images, skipped: batches.skipped.count, seconds: seconds,
                                       imagesPerSecond: Double(images) / seconds, peakRssMb: peakResidentMegabytes()))
        } else {
            print(String(format: "loader: %d images in %.2f s, %.1f images/s, peak RSS %.0f MB", images, seconds,
                         Double(images) / seconds, peakResidentMegabytes()))
        }
    }

    func runConvolution() throws {
        let batch = batchSize ?? 128
        let r = benchmarkConvolution(batch: batch, channels: channels, side: imageSize, iterations: iterations)
        let passes = [("forward", r.forward), ("backward_data", r.backwardData), ("backward_weights", r.backwardWeights)]
        if json {
            try printJSON(ConvolutionRecord(batch: batch, channels: channels, imageSize: imageSize, iterations: iterations,
                                            peakGflops: r.peak, forwardGflops: r.forward,
                                            backwardDataGflops: r.backwardData, backwardWeightsGflops: r.backwardWeights,
                                            forwardPercentOfPeak: 100 * r.forward / r.peak,
                                            backwardDataPercentOfPeak: 100 * r.backwardData / r.peak,
                                            backwardWeightsPercentOfPeak: 100 * r.backwardWeights / r.peak))
        } else {
            print(String(format: "conv %d->%d 3x3 on [%d,%d,%d,%d], blocked (%@); peak (sgemm 2048) %.1f GFLOP/s", channels,
                         channels, batch, channels, imageSize, imageSize, r.implementation, r.peak))
            for (name, gflops) in passes {
                print("  " + name.padding(toLength: 17, withPad: " ", startingAt: 0)
                      + String(format: "%6.1f GFLOP/s  %5.1f%% of peak", gflops, 100 * gflops / r.peak))
            }
        }
    }
}
