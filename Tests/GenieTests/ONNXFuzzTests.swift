import Foundation
import Genie
import ONNX
import Testing
import Tensors

/// Seeded mutation fuzzing of the ONNX reader: a damaged file is read or rejected with an error, never a crash,
/// and a model read from one runs. Mutations: structure-aware (attribute values, tensor dims and data types, node
/// inputs rewired to other values, op types swapped, nodes dropped) and raw (bit flips, truncation).
@Suite(.timeLimit(.minutes(3))) struct ONNXFuzzTests {
    @Test(arguments: ["resnet_small", "shufflenet_v2"])
    func onnxReaderSurvivesMutations(name: String) throws {
        let (bytes, original) = try onnxFixture(name)
        let x = Tensor.zeros([2, 1, 28, 28])
        var fuzz = FileMutator(seed: 1)
        var accepted = 0
        for i in 0..<1000 {
            let mutated = i % 4 == 3 ? fuzz.mutateBytes(bytes) : (try fuzz.mutate(original).serializedBytes())
            guard let (model, shape) = try? ONNXImport.read(mutated, source: "fuzz") else { continue }
            accepted += 1
            model.setTraining(false)
            #expect(withoutGradients { model(x) }.shape == [2, shape.classes])
        }
        #expect(accepted > 20)
    }

    /// Malformed forms of ShuffleNet's ops (the channel shuffle's Transpose, torch.chunk's Slice, a Split, the
    /// branches' Concat, the folded size arithmetic) are refused naming the node and what does not fit.
    @Test func malformedShuffleOpsAreRefusedNamingTheNode() throws {
        func refusal(_ change: (inout Onnx_GraphProto) -> Void) throws -> String {
            try importError("shufflenet_v2") { change(&$0.graph) } ?? "accepted"
        }
        func index(_ name: String, in graph: Onnx_GraphProto) -> Int { graph.node.firstIndex { $0.name == name }! }
        func int64s(_ name: String, _ values: [Int64], in graph: inout Onnx_GraphProto) -> String {
            var t = Onnx_TensorProto()
            (t.name, t.dataType, t.dims, t.int64Data) = (name, 7, [Int64(values.count)], values)
            graph.initializer.append(t)
            return name
        }
        let transpose = "/stage2/stage2.0/Transpose"
        #expect(try refusal { g in g.node[index(transpose, in: g)].attribute[0].ints = [0, 2, 1, 3] }
            .contains("node '\(transpose)' (Transpose): perm [0, 2, 1, 3] is not a permutation of the 5 axes of [1, 2, 8, 4, 4]"))
        #expect(try refusal { g in g.node[index(transpose, in: g)].attribute[0].ints = [1, 0, 2, 3, 4] }.contains("keeps the batch first"))
        #expect(try refusal { g in g.node[index(transpose, in: g)].attribute[0].ints = [0, 2, 2, 3, 4] }.contains("(Transpose): perm [0, 2, 2, 3, 4]"))

        let slice = "/stage2/stage2.1/Slice"
        #expect(try refusal { g in let two = int64s("two", [2], in: &g); g.node[index(slice, in: g)].input.append(two) }
            .contains("node '\(slice)' (Slice): starts [0], ends [8], axes [1] and steps [2]"))
        #expect(try refusal { g in let zero = int64s("zero", [0], in: &g); g.node[index(slice, in: g)].input[3] = zero }
            .contains("node '\(slice)' (Slice): axis 0 is the batch axis"))
        #expect(try refusal { g in let nine = int64s("nine", [9], in: &g); g.node[index(slice, in: g)].input[1] = nine }
            .contains("(Slice): slice 9..<8 of axis 1 of [1, 16, 4, 4] is empty"))

        // torch.chunk as a Split whose sizes do not add up to the 16 channels, or of the wrong count.
        for sizes: [Int64] in [[5, 6], [16], [8, 8, 0]] {
            let message = try refusal { g in
                let i = index(slice, in: g)
                g.node[i].opType = "Split"
                let name = int64s("sizes", sizes, in: &g)
                g.node[i].input = [g.node[i].input[0], name]
                g.node[i].output.append("/stage2/stage2.1/Split_extra")
                var axis = Onnx_AttributeProto()
                (axis.name, axis.type, axis.i) = ("axis", .int, 1)
                g.node[i].attribute = [axis]
            }
            #expect(message.contains("node '\(slice)' (Split): split \(sizes) of axis 1 (size 16) into 2 outputs"), "\(message)")
        }

        let concat = "/stage2/stage2.0/Concat"
        #expect(try refusal { g in g.node[index(concat, in: g)].input[1] = "/maxpool/MaxPool_output_0" }
            .contains("node '\(concat)' (Concat): shapes [[1, 8, 4, 4], [1, 8, 7, 7]] differ off axis 1"))
        #expect(try refusal { g in g.node[index(concat, in: g)].attribute[0].i = 0 }.contains("(Concat): axis 0 is the batch axis"))
        #expect(try refusal { g in let zero = int64s("zero", [0], in: &g); g.node[index("/stage2/stage2.0/Div", in: g)].input[1] = zero }
            .contains("node '/stage2/stage2.0/Div' (Div): Div of 16 and 0 overflows or divides by zero"))
    }

    /// A quantized-model file of an imported graph, its graph mutated as above (or the file as `FileFuzzTests` does).
    @Test func quantizedGraphReaderSurvivesMutations() throws {
        let (spec, model, x) = try quantizedGraph("resnet_small")
        let original = try QuantizedModelFile.make(model, spec: spec, metadata: [:])
        let graph = try Onnx_ModelProto(serializedBytes: try #require(original.entries["graph"]).bytes)
        var fuzz = FileMutator(seed: 4)
        var accepted = 0
        for i in 0..<300 {
            var file = original
            if i % 2 == 0 {
                let bytes = i % 6 == 0 ? fuzz.mutateBytes(original.entries["graph"]!.bytes) : try fuzz.mutate(graph).serializedBytes()
                file.entries["graph"] = .init(dtype: .u8, shape: [bytes.count], bytes: bytes)
            }
            guard let read = try? SafeTensors(bytes: i % 2 == 0 ? file.serialized() : fuzz.mutate(original)),
                  let (_, restored) = try? QuantizedModelFile.load(read, source: "fuzz") else { continue }
            accepted += 1
            #expect(withoutGradients { restored(x.slice(batch: 0..<1)) }.shape == [1, spec.numClasses])
        }
        #expect(accepted > 10)
    }
}

/// Mutations of ONNX files, with the safetensors mutator's seeded draws.
extension FileMutator {
    static let onnxNumbers: [Int64] = [-9_223_372_036_854_775_808, -2, -1, 0, 1, 2, 3, 7, 64, 1 << 20, 9_223_372_036_854_775_807]

    mutating func mutate(_ model: Onnx_ModelProto) -> Onnx_ModelProto {
        var m = model
        for _ in 0...below(2) {
            let n = below(m.graph.node.count), values = m.graph.node.flatMap(\.output) + m.graph.initializer.map(\.name) + ["input", "", "x"]
            switch below(6) {
            case 0:
                guard !m.graph.node[n].attribute.isEmpty else { continue }
                let a = below(m.graph.node[n].attribute.count)
                m.graph.node[n].attribute[a].i = pick(Self.onnxNumbers)
                m.graph.node[n].attribute[a].f = pick([0, -1, 1e30, .nan, 0.5])
                if !m.graph.node[n].attribute[a].ints.isEmpty {
                    m.graph.node[n].attribute[a].ints[below(m.graph.node[n].attribute[a].ints.count)] = pick(Self.onnxNumbers)
                }
            case 1:
                let t = below(m.graph.initializer.count)
                if below(2) == 0, !m.graph.initializer[t].dims.isEmpty {
                    m.graph.initializer[t].dims[below(m.graph.initializer[t].dims.count)] = pick(Self.onnxNumbers)
                } else {
                    m.graph.initializer[t].dataType = Int32(pick([1, 6, 7, 10, 11]))
                }
            case 2:
                guard !m.graph.node[n].input.isEmpty else { continue }
                m.graph.node[n].input[below(m.graph.node[n].input.count)] = pick(values)
            case 3: m.graph.node[n].opType = pick(["Relu", "Identity", "Flatten", "GlobalAveragePool", "Add", "MaxPool", "Conv", "Gemm",
                                                           "Transpose", "Slice", "Split", "Concat", "Div"])
            case 4: m.graph.node.remove(at: n)
            default:
                m.graph.input[0].type.tensorType.shape.dim[below(4)].dimValue = pick(Self.onnxNumbers)
            }
        }
        return m
    }

    mutating func mutateBytes(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        if below(3) == 0 { return Array(b.prefix(below(b.count))) }
        for _ in 0...below(8) { b[below(b.count)] ^= 1 << UInt8(below(8)) }
        return b
    }
}
