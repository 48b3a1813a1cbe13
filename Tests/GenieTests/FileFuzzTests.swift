import Foundation
import Genie
import Models
import NN
import Testing
import Tensors

/// Seeded mutation fuzzing of the readers of the toolkit's own files (quantized models, distilled-image shards):
/// a damaged file is read or rejected with an error, never a crash; a model read from one runs.
@Suite(.timeLimit(.minutes(3))) struct FileFuzzTests {
    @Test func quantizedModelReaderSurvivesMutations() throws {
        let (spec, model) = randomTrainedResNet20(seed: 6)
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.randomNormal([2, 1, 28, 28], using: &rng)
        try quantize(model, weightBits: 3, activationBits: 4, sample: x, seed: 0)
        for (_, layer) in model.quantizedLayers { layer.quantizesInput = true }
        _ = withoutGradients { model(x) }  // initializes the activation quantizers
        let original = try QuantizedModelFile.make(model, spec: spec, metadata: [:])
        _ = try QuantizedModelFile.load(original, source: "original")  // the unmutated file reads back
        var fuzz = FileMutator(seed: 2)
        var accepted = 0
        for _ in 0..<200 {
            guard let file = try? SafeTensors(bytes: fuzz.mutate(original)),
                  let (_, restored) = try? QuantizedModelFile.load(file, source: "fuzz") else { continue }
            accepted += 1
            _ = withoutGradients { restored(x.slice(batch: 0..<1)) }
        }
        #expect(accepted > 10)
    }

    @Test func shardMergeSurvivesMutations() throws {
        let (spec, model) = randomTrainedResNet20(seed: 7)
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = noiseDistillConfig()
        let shards = try (0..<2).map { k -> SafeTensors in
            let shard = try Shard(index: k, count: 2)
            let set = try distillImages(spec: spec, model: model, total: 5, config: config, shard: shard,
                                        partial: folder.appendingPathComponent("p\(k)"), quiet: true)
            let url = folder.appendingPathComponent("s\(k).safetensors")
            try DistilledFile.write(set, spec: spec, config: config, total: 5, shard: shard, to: url)
            return try SafeTensors(contentsOf: url)
        }
        var fuzz = FileMutator(seed: 3)
        var accepted = 0
        for i in 0..<600 {
            let urls = (0..<2).map { folder.appendingPathComponent("m\($0).safetensors") }
            try Data(fuzz.mutate(shards[i % 2])).write(to: urls[i % 2])
            try shards[1 - i % 2].write(to: urls[1 - i % 2])
            if let (merged, _) = try? DistilledFile.merge(urls) {
                accepted += 1
                #expect(try merged.tensor("images").shape[0] == 5)
            }
        }
        #expect(accepted > 20)
    }
}

/// Structure-aware mutations of a safetensors file: its metadata values (numbers inside JSON too), its tensors'
/// shapes, types and bytes, and raw bytes of the serialized file.
struct FileMutator {
    var rng: SeededGenerator
    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func below(_ n: Int) -> Int { Int(rng.next().multipliedFullWidth(by: UInt64(n)).high) }
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    static let numbers = ["-1", "0", "1", "2", "9", "33", "1e300", "nan", "9223372036854775807", "-9223372036854775808",
                          "99999999999999999999", "2.5", ""]
    static let paths = ["", "fc", "conv1", "bn1", "layer1", "layer1.0", "layer1.0.bn1", "layer1.0.conv1", "x.y", "fc.layer"]

    mutating func mutate(_ file: SafeTensors) -> [UInt8] {
        var f = file
        for _ in 0...below(3) {
            switch below(6) {
            case 0, 1:
                guard let key = f.metadata.keys.sorted().randomElement(using: &rng) else { continue }
                f.metadata[key] = below(8) == 0 ? nil : mutateText(f.metadata[key]!)
            case 2:
                guard let key = f.entries.keys.sorted().randomElement(using: &rng) else { continue }
                f.entries[key] = below(3) == 0 ? nil : mutateEntry(f.entries[key]!)
            case 3:
                guard let key = f.entries.keys.sorted().randomElement(using: &rng) else { continue }
                f.entries[pick(["", "x", "fc.weight", "conv1.layer.weight", "activation.0.scale", key + ".weight_codes"])] = f.entries[key]
            default:
                var bytes = f.serialized()
                bytes[below(bytes.count)] ^= 1 << UInt8(below(8))
                return bytes
            }
        }
        return f.serialized()
    }

    /// Replaces a number (or a quoted layer path) inside `text` or the whole of it.
    mutating func mutateText(_ text: String) -> String {
        var chars = Array(text)
        let digits = chars.indices.filter { chars[$0].isNumber }
        if below(3) > 0, let at = digits.randomElement(using: &rng) {
            var end = at
            while end < chars.count && chars[end].isNumber { end += 1 }
            chars.replaceSubrange(at..<end, with: Array(pick(Self.numbers)))
            return String(chars)
        }
        if below(2) == 0, let range = text.range(of: #""path":"[^"]*""#, options: .regularExpression) {
            return text.replacingCharacters(in: range, with: "\"path\":\"\(pick(Self.paths))\"")
        }
        return pick(Self.numbers + ["[]", "{}", "[{\"path\":\"fc\"}]", "genie-quantized/1", "resnet20", "mobilenet_v2"])
    }

    /// Another shape, type or content for a tensor, always with a consistent byte count.
    mutating func mutateEntry(_ e: SafeTensors.Entry) -> SafeTensors.Entry {
        var e = e
        switch below(4) {
        case 0: e.shape = pick([[], [0], [1], [e.shape.reduce(1, *)], [2, 3], e.shape.reversed(), e.shape + [1]])
        case 1: e.dtype = pick([.f32, .f16, .i64, .i32, .u8, .i8])
        case 2: if !e.bytes.isEmpty { e.bytes[below(e.bytes.count)] = UInt8(below(256)) }
        default: if !e.bytes.isEmpty { for i in e.bytes.indices where below(4) == 0 { e.bytes[i] = 0xFF } }
        }
        let count = e.shape.reduce(1, *) * e.dtype.size
        e.bytes = Array(e.bytes.prefix(count)) + [UInt8](repeating: 0, count: max(0, count - e.bytes.count))
        return e
    }
}
