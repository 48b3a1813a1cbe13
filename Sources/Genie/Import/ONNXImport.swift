import Foundation
import Models
import NN
import ONNX
import Tensors

/// Reads an ONNX classification network (what `torch.onnx.export(model.eval(), x, f,
/// training=torch.onnx.TrainingMode.PRESERVE)` writes for torchvision's CNNs; docs/ONNX.md) into a `GraphModule`.
/// Shape sub-graphs (Shape, Gather, Unsqueeze, Concat, Constant feeding Reshape) are folded at load time; every
/// node is checked against the shapes it reads, so a damaged file is refused with an error, never run.
public enum ONNXImport {
    /// The architecture name of an imported graph in the files genie writes.
    public static let arch = "onnx"

    /// The model of the ONNX file at `url`, with its spec: input channels and size and the class count from the
    /// graph, `mean` and `std` (the preprocessing, which ONNX does not record) as given; arch "onnx".
    public static func load(_ url: URL, mean: [Float], std: [Float]) throws -> (spec: ModelSpec, model: GraphModule) {
        let source = "'\(url.path)'"
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch { throw GenieError("cannot read ONNX file \(source): \(error.localizedDescription)") }
        let (model, shape) = try read([UInt8](bytes), source: source)
        let spec = ModelSpec(arch: arch, numClasses: shape.classes, inChannels: shape.channels, imageSize: shape.size,
                             stemStride: 1, mean: mean, std: std)
        guard mean.count == shape.channels, std.count == shape.channels else {
            throw ModelLoadError.noNormalization(path: url.relativePath, channels: shape.channels)
        }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ModelSpecError(key: "std", reason: "values must be positive") }
        return (spec, model)
    }

    /// The model in the ONNX bytes (errors name `source`) and its input `[channels, size, size]` and class count. Its
    /// residual additions read their skip input through the zoo's shortcut identities (`ShortcutIdentities`), and
    /// its definition is the graph so rewritten.
    public static func read(_ bytes: [UInt8], source: String) throws -> (model: GraphModule, shape: (channels: Int, size: Int, classes: Int)) {
        let proto: Onnx_ModelProto
        do { proto = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw GenieError("\(source) is not an ONNX file (protobuf: \(error))")
        }
        var model = proto
        model.graph = ShortcutIdentities.inserted(into: proto.graph)
        var reader = GraphReader(source: source)
        let read = try reader.read(model.graph)
        read.model.definition = GraphDefinition.stripped(model)
        return read
    }
}

/// A value known at load time: an initializer, a `Constant` or a folded shape computation.
enum ONNXConstant {
    case floats([Int], [Float]), ints([Int], [Int])

    var dims: [Int] { switch self { case let .floats(d, _), let .ints(d, _): d } }
}

/// Builds the steps of a graph, checking each node against the shapes (at batch 1) of the values it reads. This
/// file holds its state and the decoding of values (initializers, constants, attributes); ONNXNodes.swift its nodes.
struct GraphReader {
    let source: String
    /// The batch size inside folded shape values (`Shape` of a tensor), resolved again when a `Reshape` runs.
    static let batch = Int.min
    /// The largest value a graph may compute, in elements per image (damaged shapes allocate no more).
    static let maxElements = 1 << 26

    var shapes: [String: [Int]] = [:]
    var constants: [String: ONNXConstant] = [:]
    var steps: [GraphModule.Step] = []
    var layers: [(path: String, layer: Module)] = []
    var node = Onnx_NodeProto()

    init(source: String) { self.source = source }

    mutating func read(_ graph: Onnx_GraphProto) throws
        -> (model: GraphModule, shape: (channels: Int, size: Int, classes: Int)) {
        guard graph.node.contains(where: { $0.opType == "BatchNormalization" }) else {
            throw GenieError("\(source) has no BatchNormalization node: its batch norms were folded into the convolutions, "
                + "and GENIE needs them. Export with torch.onnx.export(model.eval(), x, f, "
                + "training=torch.onnx.TrainingMode.PRESERVE, opset_version=13) (docs/ONNX.md)")
        }
        for t in graph.initializer { constants[t.name] = try constant(t) }
        guard let input = graph.input.first(where: { constants[$0.name] == nil }), let output = graph.output.first else {
            throw GenieError("\(source) has no graph input or output")
        }
        let dims = input.type.tensorType.shape.dim.map { d -> Int? in
            if case let .dimValue(v)? = d.value, v > 0 { Int(v) } else { nil }
        }
        guard dims.count == 4, let c = dims[1], let h = dims[2], let w = dims[3], h == w,
              (1...64).contains(c), (8...4096).contains(h) else {
            throw GenieError("\(source): input '\(input.name)' must be images [N, C, S, S] with 1 to 64 channels and S in 8...4096, "
                + "got \(dims.map { $0.map(String.init) ?? "?" })")
        }
        shapes[input.name] = [1, c, h, h]
        for n in graph.node {
            node = n
            try add(n)
        }
        guard let out = shapes[output.name], out.count == 2, out[1] >= 1 else {
            throw GenieError("\(source): output '\(output.name)' must be logits [N, classes], got shape \(shapes[output.name].map { "\($0)" } ?? "none")")
        }
        let model = GraphModule(steps: steps, input: input.name, output: output.name)
        for (path, layer) in layers { model.add(layer, at: path) }
        model.bindScopes()
        return (model, (c, h, out[1]))
    }

    // MARK: Values

    func fail(_ message: String) -> GenieError {
        GenieError("\(source): node '\(node.name)' (\(node.opType)): \(message)")
    }

    func constant(_ t: Onnx_TensorProto) throws -> ONNXConstant {
        if t.dataLocation == .external {
            let location = t.externalData.first { $0.key == "location" }?.value ?? "?"
            throw GenieError("\(source): tensor '\(t.name)' is stored in the external data file '\(location)', which genie does not read; "
                + "export with torch.onnx.export(..., external_data=False) or save with onnx.save(model, f, save_as_external_data=False)")
        }
        var count = 1
        for d in t.dims {
            guard d >= 0, d <= Int64(Self.maxElements) else { throw GenieError("\(source): tensor '\(t.name)' has dimension \(d)") }
            count *= Int(d)
            guard count <= Self.maxElements else { throw GenieError("\(source): tensor '\(t.name)' is too large (\(t.dims))") }
        }
        let dims = t.dims.map { Int($0) }, raw = [UInt8](t.rawData)
        /// The values in `rawData` (little-endian) when it is set, else those of the typed field `stored`.
        func values<T: BitwiseCopyable>(_ stored: [T]) throws -> [T] {
            let size = MemoryLayout<T>.size
            guard raw.isEmpty ? stored.count == count : raw.count == count * size else {
                throw GenieError("\(source): tensor '\(t.name)' of shape \(dims) holds \(raw.isEmpty ? stored.count : raw.count / size) values")
            }
            return raw.isEmpty ? stored : raw.littleEndianValues(T.self, count: count)
        }
        switch t.dataType {
        case 1: return .floats(dims, try values(t.floatData))
        case 7: return .ints(dims, try values(t.int64Data).map { Int($0) })
        case 6: return .ints(dims, try values(t.int32Data).map { Int($0) })
        default: throw GenieError("\(source): tensor '\(t.name)' has data type \(t.dataType); genie reads float32, int32 and int64")
        }
    }

    /// The name of input `i` if it is a computed tensor, with its shape.
    func tensor(_ i: Int) throws -> (name: String, shape: [Int]) {
        guard i < node.input.count, let shape = shapes[node.input[i]] else {
            throw fail("input \(i) \(i < node.input.count ? "'\(node.input[i])' " : "")is not a tensor computed before it")
        }
        return (node.input[i], shape)
    }

    /// Input `i` if it is a constant (initializer or folded value); nil when absent.
    func known(_ i: Int) -> ONNXConstant? {
        i < node.input.count ? constants[node.input[i]] : nil
    }

    func floats(_ i: Int) throws -> (name: String, dims: [Int], values: [Float]) {
        guard case let .floats(dims, values)? = known(i) else { throw fail("input \(i) must be a float32 initializer") }
        return (node.input[i], dims, values)
    }

    func ints(_ i: Int) throws -> [Int] {
        guard case let .ints(_, values)? = known(i) else { throw fail("input \(i) must be a constant integer tensor") }
        return values
    }

    func attribute(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }
    func int(_ name: String, _ fallback: Int) -> Int { attribute(name).map { Int(clamping: $0.i) } ?? fallback }
    func intList(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map { Int(clamping: $0) } } }
}
