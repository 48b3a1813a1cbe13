import Genie
import Models
import Testing

/// `genie bench`'s workloads on every architecture of the zoo, one iteration at a small size (3x32x32, batch 2; at 16x16 ResNet-18 and -50 put a 1x1 map into a strided, swung convolution, which reflection padding cannot pad).
@Suite struct BenchmarkTests {
    static let cases = ModelSpec.architectures.flatMap { arch in BenchWorkload.allCases.map { (arch, $0) } }

    @Test(arguments: cases)
    func workloadRunsOneIterationOnEachArchitecture(_ arch: String, _ workload: BenchWorkload) throws {
        let spec = try ModelSpec(arch: arch, numClasses: 5, inChannels: 3, imageSize: 32,
                                 mean: [0, 0, 0], std: [1, 1, 1]).validated()
        let result = try benchmark(workload, spec: spec, batch: 2, iterations: 1, warmup: 0)
        #expect(result.workload == workload && result.batch == 2 && result.iterations == 1)
        #expect(result.medianSeconds > 0 && result.medianSeconds.isFinite, "\(result)")
    }

    @Test func distillRefusesAnImageSizeTheGeneratorCannotReach() throws {
        let spec = try ModelSpec(arch: "resnet18", inChannels: 3, imageSize: 18, mean: [0, 0, 0], std: [1, 1, 1]).validated()
        #expect(throws: ModelSpecError.self) { try benchmark(.distill, spec: spec, batch: 2, iterations: 1, warmup: 0) }
    }

    /// `/proc/self/status` pads VmHWM with spaces below 8 digits and has only its tab above: both read, in MB.
    @Test func peakResidentMemoryReadsSmallAndLargeVmHWM() {
        #expect(peakResidentMegabytes(status: "Name:\tgenie\nVmHWM:\t   77824 kB\nVmRSS:\t 1 kB\n") == 76)
        #expect(peakResidentMegabytes(status: "VmPeak:\t1 kB\nVmHWM:\t16287744 kB\n") == 15906)
        #expect(peakResidentMegabytes(status: "VmRSS:\t1 kB\n") == nil)
        #expect(peakResidentMegabytes() > 0)
    }
}
