import Foundation
import Testing

/// `genie bench`'s model flags: refused when bad (run by BadInputTests), recorded in its JSON when good.
let benchBadInputs = [
    BadInput("bench --arch not in the zoo", says: ["--arch 'vgg' is not in the zoo", "resnet18"]) { _ in
        ["bench", "--workload", "forward", "--arch", "vgg"]
    },
    BadInput("bench --image-size too small", says: ["--image-size must be in 8...4096, got 4"]) { _ in
        ["bench", "--workload", "forward", "--image-size", "4"]
    },
    BadInput("bench distill at a size not divisible by 4", says: ["--image-size must be a multiple of 4", "got 30"]) { _ in
        ["bench", "--workload", "distill", "--image-size", "30"]
    },
    BadInput("bench --in-channels 0", says: ["--in-channels must be in 1...64, got 0"]) { _ in
        ["bench", "--workload", "forward", "--in-channels", "0"]
    },
    BadInput("bench --classes 0", says: ["--num-classes must be in 1...100000, got 0"]) { _ in
        ["bench", "--workload", "forward", "--classes", "0"]
    },
    BadInput("bench conv --channels 0", status: 64, says: ["--channels must be at least 1, got 0"]) { _ in
        ["bench", "--workload", "conv", "--channels", "0"]
    },
    BadInput("bench --warmup -1", status: 64, says: ["--warmup must not be negative, got -1"]) { _ in
        ["bench", "--workload", "forward", "--warmup=-1"]
    },
]

@Suite struct BenchCommandTests {
    @Test func modelFlagsAreRecordedInTheJSONRecord() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try genie(["bench", "--workload", "forward", "--arch", "mobilenet_v2", "--image-size", "16",
                                "--in-channels", "3", "--classes", "5", "--batch-size", "2", "--iterations", "1",
                                "--warmup", "0", "--json"], in: folder)
        #expect(result.status == 0, "\(result)")
        let record = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(record?["arch"] as? String == "mobilenet_v2", "\(result)")
        #expect(record?["image_size"] as? Int == 16 && record?["in_channels"] as? Int == 3, "\(result)")
        #expect(record?["classes"] as? Int == 5 && record?["batch"] as? Int == 2, "\(result)")
    }

    /// 8 channels fill a channel block of 8 (AVX2's) but not one of 16 (AVX-512's): both layouts' runs must succeed.
    @Test(arguments: ["8", "16"]) func convFlagsAreRecordedInTheJSONRecordAtEitherChannelBlock(block: String) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try genie(["bench", "--workload", "conv", "--channels", "8", "--image-size", "6", "--batch-size", "2",
                                "--iterations", "1", "--json"], in: folder, environment: ["GENIE_CHANNEL_BLOCK": block])
        #expect(result.status == 0, "\(result)")
        let record = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(record?["channels"] as? Int == 8 && record?["image_size"] as? Int == 6, "\(result)")
        #expect(record?["batch"] as? Int == 2 && (record?["forward_gflops"] as? Double ?? 0) > 0, "\(result)")
    }
}
