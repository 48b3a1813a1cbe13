import Foundation
import Genie
import Models
import NN
import ONNX
import Testing
import Tensors

/// Small test models (8x8 inputs; thin ResNet-20; MobileNetV2 x0.25 with a 32-wide head instead of 1280).
func smallTestModel(_ arch: String, seed: UInt64) -> (ModelSpec, Module) {
    let spec = ModelSpec(arch: arch, imageSize: 8, widthMult: 0.25, stemStride: 1)
    guard arch == "mobilenet_v2" else { return (spec, ResNet.resnet20(widths: [4, 8, 16], seed: seed)) }
    let model = MobileNetV2(numClasses: 10, inChannels: 1, widthMult: 0.25, stemStride: 1, seed: seed)
    let features = model.child("features"), last = features.childNames.last!
    let width = (features.child(last).child("0") as! Conv2d).inChannels
    features.register(last, Sequential([Conv2d(width, 32, kernelSize: 1, bias: false), BatchNorm2d(32), Function.relu6()]))
    model.child("classifier").register("1", Linear(32, 10))
    return (spec, model)
}

/// A small quantized model with random weights, train-mode batch-norm statistics and random-signed batch-norm
/// scales, every input quantizer on and initialized; with the images it was initialized on.
func quantizedTestModel(_ arch: String, wbits: Int, abits: Int, seed: UInt64) throws -> (ModelSpec, Module, Tensor) {
    let (spec, model) = smallTestModel(arch, seed: seed)
    var rng = SeededGenerator(seed: seed)
    let images = Tensor.randomNormal([3, spec.inChannels, spec.imageSize, spec.imageSize], using: &rng)
    model.setTraining(true)
    _ = withoutGradients { model(images) }
    model.setTraining(false)
    for case let bn as BatchNorm2d in model.namedModules().map(\.module) {
        bn.weight!.value = Tensor.randomUniform([bn.numFeatures], lower: -1.5, upper: 1.5, using: &rng)
        bn.bias!.value = Tensor.randomNormal([bn.numFeatures], std: 0.2, using: &rng)
    }
    try quantize(model, weightBits: wbits, activationBits: abits, sample: images.slice(batch: 0..<1), seed: seed)
    for (_, layer) in model.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
    _ = withoutGradients { model(images) }  // initializes the activation step sizes
    return (spec, model, images)
}

/// The parts of an exported ONNX model the tests look at, decoded with the generated ONNX types.
struct DecodedONNX {
    var irVersion = 0, opset = 0
    var nodes: [(op: String, inputs: [String], outputs: [String])] = []
    var initializers: [String: Int] = [:]  // name: data type
    var raw: [String: [UInt8]] = [:]
    var metadata: [String: String] = [:]

    init(_ bytes: [UInt8]) throws {
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        irVersion = Int(model.irVersion)
        opset = Int(model.opsetImport.first { $0.domain.isEmpty }?.version ?? 0)
        nodes = model.graph.node.map { ($0.opType, $0.input, $0.output) }
        for t in model.graph.initializer {
            initializers[t.name] = Int(t.dataType)
            raw[t.name] = Array(t.rawData)
        }
        for p in model.metadataProps { metadata[p.key] = p.value }
    }

    func count(_ op: String) -> Int { nodes.filter { $0.op == op }.count }
}

@Suite struct DeployTests {
    @Test func integerRawDataIsLittleEndianAndPacksNibbles() {
        #expect(ONNXType.uint4.raw([1, 2, 3]) == [0x21, 0x03])
        #expect(ONNXType.int4.raw([-1, 7]) == [0x7F])
        #expect(ONNXType.int8.raw([-2, 127]) == [0xFE, 0x7F])
        #expect(ONNXType.int32.raw([-2]) == [0xFE, 0xFF, 0xFF, 0xFF])
    }

    @Test(arguments: ["resnet20", "mobilenet_v2"])
    func foldedModelKeepsTheLogitsAndTheCodes(arch: String) throws {
        let (_, model, images) = try quantizedTestModel(arch, wbits: 4, abits: 4, seed: 3)
        func logits(quantizingInputs on: Bool) -> Tensor {
            for (_, layer) in model.quantizedLayers { layer.quantizesInput = on && layer.inputQuantizer != nil }
            return withoutGradients { model(images) }
        }
        let (weightsOnly, quantized) = (logits(quantizingInputs: false), logits(quantizingInputs: true))
        let before = Dictionary(uniqueKeysWithValues: model.quantizedLayers.compactMap { path, layer in
            layer.weightQuantizer.map { (path, (codes: $0.codes.scalars, zero: $0.zeroPoint.scalars)) }
        })
        let batchNorms = model.namedModules().filter { $0.module is BatchNorm2d }.count
        let folded = foldBatchNorms(model, sample: images.slice(batch: 0..<1))
        #expect(folded.count == batchNorms)
        #expect(!model.namedModules().contains { $0.module is BatchNorm2d })
        #expect(folded.map(\.mirroredChannels).reduce(0, +) > 0)
        #expect(close(logits(quantizingInputs: false), weightsOnly, 1e-4))
        #expect(close(logits(quantizingInputs: true), quantized, 1e-4))
        // Codes unchanged, or mirrored (q -> 2^b - 1 - q, with the zero point) where the batch-norm scale is negative.
        for (path, layer) in model.quantizedLayers {
            guard let wq = layer.weightQuantizer, let old = before[path] else { continue }
            let levels = Float((1 << wq.bits) - 1), codes = wq.codes.scalars, zero = wq.zeroPoint.scalars
            let perChannel = codes.count / zero.count
            #expect(wq.scale.value.scalars.allSatisfy { $0 >= 0 })
            for c in zero.indices {
                let range = (c * perChannel)..<((c + 1) * perChannel)
                let mirrored = zero[c] != old.zero[c] || codes[range] != old.codes[range]
                #expect(!mirrored || (zero[c] == levels - old.zero[c] && codes[range].elementsEqual(old.codes[range].map { levels - $0 })),
                        "\(path) channel \(c)")
            }
        }
    }

    @Test func resnetExportsAsQDQGraph() throws {
        let (spec, model, images) = try quantizedTestModel("resnet20", wbits: 4, abits: 4, seed: 4)
        let folded = foldBatchNorms(model, sample: images.slice(batch: 0..<1))
        let quantizers = Set(model.quantizedLayers.compactMap { $0.layer.inputQuantizer.map(ObjectIdentifier.init) }).count
        for opset in [13, 21] {
            let onnx = try DecodedONNX(ONNXExport.export(model, spec: spec, opset: opset, metadata: ["wbits": "4"]))
            #expect(onnx.opset == opset && onnx.irVersion == (opset == 13 ? 7 : 10))
            #expect(onnx.count("Conv") == folded.count && onnx.count("Gemm") == 1 && onnx.count("Add") == 9)
            #expect(onnx.count("BatchNormalization") == 0 && onnx.count("GlobalAveragePool") == 1)
            // One QuantizeLinear/DequantizeLinear pair per activation quantizer; one DequantizeLinear per weight and per bias.
            #expect(onnx.count("QuantizeLinear") == quantizers)
            #expect(onnx.count("DequantizeLinear") == quantizers + (folded.count + 1) + (folded.count - 1 + 1))
            // 4-bit activations need a Clip to [Qn s, Qp s] before int8/uint8 but not before int4/uint4.
            #expect(onnx.count("Clip") == (opset == 13 ? quantizers - 2 : 0))
            let weightTypes = Set(onnx.initializers.filter { $0.key.hasSuffix(".weight_quantized") }.map(\.value))
            #expect(weightTypes == (opset == 13 ? [2] : [2, 21]), "uint8 for the 8-bit layers; uint4 from opset 21")
            #expect(onnx.initializers.filter { $0.key.hasSuffix(".bias_quantized") }.allSatisfy { $0.value == 6 })
            #expect(onnx.nodes.last!.outputs == ["logits"] && onnx.nodes.contains { $0.op == "Conv" && $0.inputs.first == "input" })
            #expect(onnx.metadata["mean"] == "0.286" && onnx.metadata["wbits"] == "4")
            // A 4-bit layer's codes and zero points as stored (packed two per byte from opset 21), its int32 bias.
            let path = "layer1.1.conv1", layer = model.module(at: path) as! QuantizedLayer, wq = layer.weightQuantizer!
            let codes = wq.codes.scalars.map { Int($0) }, zero = wq.zeroPoint.scalars.map { Int($0) }
            let type = opset == 13 ? ONNXType.uint8 : .uint4
            #expect(onnx.raw[path + ".weight_quantized"] == type.raw(codes) && onnx.raw[path + ".weight_zero_point"] == type.raw(zero))
            let inputScale = layer.inputQuantizer!.scale!.value.item
            let bias = zip((layer.layer as! Conv2d).bias!.value.scalars, wq.scale.value.scalars).map { b, s in
                Int((Double(b) / Double(inputScale * s)).rounded(.toNearestOrEven))
            }
            #expect(onnx.raw[path + ".bias_quantized"] == ONNXType.int32.raw(bias))
        }
    }

    @Test func mobileNetExportsWithResidualsAndReLU6() throws {
        let (spec, model, images) = try quantizedTestModel("mobilenet_v2", wbits: 4, abits: 4, seed: 5)
        let residuals = model.namedModules().filter { ($0.module as? InvertedResidual)?.useResidual == true }.count
        let folded = foldBatchNorms(model, sample: images.slice(batch: 0..<1))
        let onnx = try DecodedONNX(ONNXExport.export(model, spec: spec, opset: 21, integerBiases: false))
        #expect(onnx.count("Conv") == folded.count && onnx.count("Add") == residuals && onnx.count("Gemm") == 1)
        // ReLU6 is Relu + Min from opset 21 (onnxruntime cannot load a Clip feeding a 4-bit QuantizeLinear); a Clip is
        // only the clamp before an 8-bit QuantizeLinear (the input of a layer whose weights are stored in 8 bits).
        #expect(onnx.nodes.filter { $0.op == "Clip" }.allSatisfy { $0.outputs[0].hasPrefix("activation") && $0.outputs[0].hasSuffix(".clip") })
        #expect(onnx.count("Min") == model.namedModules().filter { ($0.module as? Function)?.name == "ReLU6" }.count)
        #expect(!onnx.initializers.keys.contains { $0.hasSuffix(".bias_quantized") })
    }

    @Test func zeroPointsOutsideTheCodeRangePickAWiderType() throws {
        // A channel whose weights all have one sign has its zero point outside [0, 2^b - 1].
        func export(bits: Int, zero: [Float], opset: Int) throws -> DecodedONNX {
            let codes = Tensor(shape: [2, 1, 1, 1], scalars: [0, Float((1 << bits) - 1)])
            let wq = WeightQuantizer(codes: codes, scale: Tensor(shape: [2, 1, 1, 1], scalars: [0.1, 0.2]),
                                     zeroPoint: Tensor(shape: [2, 1, 1, 1], scalars: zero), bits: bits)
            let model = Sequential([QuantizedLayer(Conv2d(1, 2, kernelSize: 1, bias: false), weightQuantizer: wq, inputQuantizer: nil),
                                    Function.globalAveragePool(), Function.flatten()])
            return try DecodedONNX(ONNXExport.export(model, spec: ModelSpec(arch: "resnet20", numClasses: 2), opset: opset))
        }
        let name = "0.weight_quantized"
        #expect(try export(bits: 4, zero: [-3, 5], opset: 21).initializers[name] == ONNXType.int8.rawValue)
        #expect(try export(bits: 4, zero: [3, 5], opset: 21).initializers[name] == ONNXType.uint4.rawValue)
        #expect(try export(bits: 8, zero: [300, 5], opset: 21).initializers[name] == ONNXType.uint16.rawValue)
        let wide = try export(bits: 8, zero: [300, 5], opset: 13)
        #expect(wide.initializers[name] == ONNXType.int32.rawValue && wide.raw[name] == ONNXType.int32.raw([0 - 300, 255 - 5]))
        #expect(wide.initializers["0.weight_zero_point"] == nil)
    }

    @Test func exportErrorsNameTheFileAndTheOpset() throws {
        let (spec, model) = randomTrainedResNet20(seed: 1)
        let weights = try SafeTensors(bytes: model.safeTensors(metadata: spec.metadata).serialized())
        let notQuantized = #expect(throws: GenieError.self) {
            try ONNXExport.export(quantizedFile: weights, source: "'fp.safetensors'", opset: 13)
        }
        #expect(notQuantized?.description.contains("'fp.safetensors'") == true)
        #expect(notQuantized?.description.contains("not a quantized model") == true)
        for opset in [12, 30] {
            let error = #expect(throws: GenieError.self) {
                try ONNXExport.export(quantizedFile: weights, source: "'q.safetensors'", opset: opset)
            }
            #expect(error?.description.contains("opset \(opset)") == true && error?.description.contains("--") == false)
        }
    }

    @Test(arguments: ["resnet20", "mobilenet_v2"])
    func w4a4FileIsAtMostAFifthOfTheFloatWeights(arch: String) throws {
        // The size does not depend on the values: wrap every layer as quantize() does, without its step-size search.
        let spec = ModelSpec(arch: arch)
        let model = spec.build()
        let float = model.safeTensors(metadata: spec.metadata).serialized().count
        let targets = model.namedModules().filter { $0.module is Conv2d || $0.module is Linear || ($0.module as? Function)?.name == "Identity" }
        for (i, (path, m)) in targets.enumerated() {
            let weight = (m as? Conv2d)?.weight.value ?? (m as? Linear)?.weight.value
            let bits = i == 0 || i == targets.count - 1 ? 8 : 4, channels = [weight?.shape[0] ?? 1] + Array(repeating: 1, count: (weight?.rank ?? 1) - 1)
            let wq = weight.map { WeightQuantizer(codes: Tensor.zeros($0.shape), scale: Tensor(repeating: 1, shape: channels),
                                                  zeroPoint: Tensor.zeros(channels), bits: bits) }
            let layer = QuantizedLayer(m, weightQuantizer: wq, inputQuantizer: i == 0 ? nil : ActivationQuantizer(bits: 4, scale: 1, signed: false))
            layer.quantizesInput = i > 0
            model.replace(path, with: layer)
        }
        let file = try QuantizedModelFile.make(model, spec: spec, metadata: ["wbits": "4", "abits": "4"])
        _ = try QuantizedModelFile.load(SafeTensors(bytes: file.serialized()), source: "memory")  // and it reads back
        let quantized = file.serialized().count
        #expect(Double(quantized) <= 0.2 * Double(float), "\(quantized) vs \(float) bytes")
    }
}
