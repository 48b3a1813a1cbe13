import Data
import Foundation
import Testing
import Tensors
import TestSupport

/// One row of docs/ERRORS.md: a bad input, the exit status `genie` must end with and words its message must hold.
struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    let status: Int32
    let says: [String]
    /// Writes the input into the folder and returns the command line (and environment) that reads it.
    let prepare: @Sendable (URL) throws -> (arguments: [String], environment: [String: String])
    var testDescription: String { name }

    init(_ name: String, status: Int32 = 1, says: [String], _ prepare: @escaping @Sendable (URL) throws -> [String]) {
        self.init(name, status: status, says: says, environment: { _ in [:] }, prepare)
    }

    init(_ name: String, status: Int32 = 1, says: [String], environment: @escaping @Sendable (URL) -> [String: String],
         _ prepare: @escaping @Sendable (URL) throws -> [String]) {
        self.name = name
        self.status = status
        self.says = says
        self.prepare = { folder in (try prepare(folder), environment(folder)) }
    }
}

/// The path of a committed ONNX export (scripts/fixtures_onnx.py).
func onnxFixture(_ name: String) -> String { fixturesDirectory.appendingPathComponent("onnx/\(name).onnx").path }

/// `genie evaluate --weights F` on a file with these raw bytes.
func evaluateWeights(_ bytes: [UInt8]) -> @Sendable (URL) throws -> [String] {
    { folder in
        try Data(bytes).write(to: folder.appendingPathComponent("w.safetensors"))
        return ["evaluate", "--weights", "w.safetensors", "--arch", "resnet20"]
    }
}

/// `genie evaluate` on the committed ResNet-20 edited by `edit`.
func evaluateEdited(_ edit: @escaping @Sendable (inout SafeTensors) throws -> Void) -> @Sendable (URL) throws -> [String] {
    { folder in ["evaluate", "--weights", try editedResNet20("w.safetensors", in: folder, edit)] }
}

/// `genie quantize` of the committed ResNet-20 with these extra arguments (after writing files with `files`).
func quantize(_ extra: [String], files: @escaping @Sendable (URL) throws -> Void = { _ in }) -> @Sendable (URL) throws -> [String] {
    { folder in
        try files(folder)
        return ["quantize", "--weights", resnet20, "--iterations", "1", "--out", "q.safetensors"] + extra
    }
}

/// The quantized-model file (round to nearest) of a committed ONNX export, written into `folder`.
func quantizedGraphFile(_ name: String, in folder: URL) throws -> SafeTensors {
    let made = try genie(["quantize", "--weights", onnxFixture(name), "--mean", "0.286", "--std", "0.353",
                          "--method", "rtn", "--noise", "32", "--out", name + ".safetensors"], in: folder)
    guard made.status == 0 else { throw TestFailure("genie quantize failed: \(made)") }
    return try SafeTensors(contentsOf: folder.appendingPathComponent(name + ".safetensors"))
}

/// `genie evaluate --quantized` of the imported resnet_small's quantized-model file edited by `edit`.
func editedQuantizedGraph(_ edit: @escaping @Sendable (inout SafeTensors, URL) throws -> Void) -> @Sendable (URL) throws -> [String] {
    { folder in
        var file = try quantizedGraphFile("resnet_small", in: folder)
        try edit(&file, folder)
        try file.write(to: folder.appendingPathComponent("q.safetensors"))
        return ["evaluate", "--quantized", "q.safetensors"]
    }
}

/// A calibration file holding `images` zeros of shape `shape` under `name`.
func writeCalibration(_ shape: [Int], name: String = "images", value: Float = 0) -> @Sendable (URL) throws -> Void {
    { folder in
        var file = SafeTensors()
        file.set(name, Tensor(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *))))
        try file.write(to: folder.appendingPathComponent("calib.safetensors"))
    }
}

let badInputs: [BadInput] = [
    // Damaged safetensors files.
    BadInput("truncated safetensors file", says: ["w.safetensors", "is truncated"], evaluateWeights([1, 2, 3])),
    BadInput("header length past the end", says: ["w.safetensors", "header length 1000 runs past the end"],
             evaluateWeights([0xE8, 3, 0, 0, 0, 0, 0, 0] + Array("{}".utf8))),
    BadInput("header not JSON", says: ["w.safetensors", "not valid JSON"], evaluateWeights(rawSafeTensors(#"{"a": [}"#))),
    BadInput("overlapping data_offsets", says: ["w.safetensors", "'a' and 'b' have overlapping data_offsets"],
             evaluateWeights(rawSafeTensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: .init(repeating: 0, count: 12)))),
    BadInput("data_offsets out of range", says: ["w.safetensors", "tensor 'a'", "run past the end"],
             evaluateWeights(rawSafeTensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]))),
    BadInput("unknown dtype", says: ["w.safetensors", "tensor 'a'", "unsupported dtype F8_E4M3"],
             evaluateWeights(rawSafeTensors(#"{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0]))),
    BadInput("wrong byte count", says: ["w.safetensors", "tensor 'a'", "needs 12 bytes", "hold 8"],
             evaluateWeights(rawSafeTensors(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: .init(repeating: 0, count: 8)))),
    BadInput("missing weights file", says: ["--weights", "no such file", "absent.safetensors"]) { _ in
        ["evaluate", "--weights", "absent.safetensors"]
    },
    BadInput("no architecture recorded or given", says: ["w.safetensors", "records no architecture", "--arch"]) { folder in
        try Data(rawSafeTensors("{}")).write(to: folder.appendingPathComponent("w.safetensors"))
        return ["evaluate", "--weights", "w.safetensors"]
    },
    // Weights that do not fit the architecture, or hold unusable values.
    BadInput("missing tensor", says: ["w.safetensors", "missing key 'fc.weight'"], evaluateEdited { $0.entries["fc.weight"] = nil }),
    BadInput("unexpected tensor", says: ["w.safetensors", "unexpected key 'extra.weight'"],
             evaluateEdited { $0.set("extra.weight", Tensor(shape: [1], scalars: [0])) }),
    BadInput("tensor of the wrong shape", says: ["'fc.bias' has shape [5] but the model expects [10]"],
             evaluateEdited { $0.set("fc.bias", Tensor(shape: [5], scalars: [0, 0, 0, 0, 0])) }),
    BadInput("ONNX file with --arch", status: 64, says: ["--arch", "is an ONNX file", "drop --arch"]) { _ in
        ["evaluate", "--weights", onnxFixture("resnet_small"), "--arch", "resnet20", "--mean", "0.286", "--std", "0.353"]
    },
    BadInput("ONNX file without --mean and --std", says: ["resnet_small.onnx", "pass --mean and --std"]) { _ in
        ["evaluate", "--weights", onnxFixture("resnet_small")]
    },
    BadInput("damaged ONNX file", says: ["m.onnx", "is not an ONNX file"]) { folder in
        try Data([0x0A, 0xFF, 0xFF]).write(to: folder.appendingPathComponent("m.onnx"))
        return ["evaluate", "--weights", "m.onnx", "--mean", "0.286", "--std", "0.353"]
    },
    BadInput("NaN weight", says: ["w.safetensors", "'conv1.weight' contains NaN or infinite values"],
             evaluateEdited { $0.setValue(.nan, of: "conv1.weight", at: 0) }),
    BadInput("infinite weight", says: ["'fc.weight' contains NaN or infinite values"],
             evaluateEdited { $0.setValue(-.infinity, of: "fc.weight", at: 3) }),
    BadInput("negative running variance", says: ["'layer1.0.bn1.running_var' has negative values"],
             evaluateEdited { $0.setValue(-1, of: "layer1.0.bn1.running_var", at: 0) }),
    BadInput("plain weights given as a quantized model", says: ["resnet20.safetensors", "is not a quantized model"]) { _ in
        ["evaluate", "--quantized", resnet20]
    },
    BadInput("model flags with a quantized model", status: 64, says: ["--quantized FILE records its model and its preprocessing", "drop --mean, --std"]) { _ in
        ["evaluate", "--quantized", "q.safetensors", "--mean", "0.5", "--std", "0.5"]
    },
    BadInput("plain weights given to genie export", says: ["resnet20.safetensors", "is not a quantized model"]) { _ in
        ["export", "--quantized", resnet20, "--onnx", "q.onnx"]
    },
    BadInput("quantized model with a negative weight step size", says: ["q.safetensors", "layer layer1.0.conv1: channel 2: step size -0.5 is not positive and finite"]) { folder in
        let made = try genie(["quantize", "--weights", resnet20, "--method", "rtn", "--noise", "32", "--out", "q.safetensors"], in: folder)
        guard made.status == 0 else { throw TestFailure("genie quantize failed: \(made)") }
        var file = try SafeTensors(contentsOf: folder.appendingPathComponent("q.safetensors"))
        file.setValue(-0.5, of: "layer1.0.conv1.weight_scale", at: 2)
        try file.write(to: folder.appendingPathComponent("q.safetensors"))
        return ["evaluate", "--quantized", "q.safetensors"]
    },
    BadInput("quantized graph whose graph is damaged", says: ["q.safetensors", "its graph is not an ONNX model"],
             editedQuantizedGraph { file, _ in file.entries["graph"] = .init(dtype: .u8, shape: [3], bytes: [0x0A, 0xFF, 0xFF]) }),
    BadInput("quantized graph whose layers do not match its graph", says: ["q.safetensors", "names a layer that onnx does not have"],
             editedQuantizedGraph { file, folder in  // regnet_x_small's graph in resnet_small's file
                 file.entries["graph"] = try quantizedGraphFile("regnet_x_small", in: folder).entries["graph"]
             }),
    BadInput("export --opset too old for per-channel weights", status: 64, says: ["--opset 12", "need opset 13"]) { _ in
        ["export", "--quantized", resnet20, "--onnx", "q.onnx", "--opset", "12"]
    },
    // Bit widths.
    BadInput("--wbits above 8", status: 64, says: ["--wbits must be in 2...8, got 9"], quantize(["--wbits", "9", "--noise", "32"])),
    BadInput("--bits naming a layer the model does not have", status: 64, says: ["--bits", "resnet20 has no layer named 'layer9'", "layer3.2"],
             quantize(["--bits", "layer9=8", "--noise", "32"])),
    BadInput("--bits entry with bits outside 2...8", status: 64, says: ["--bits", "'layer1=9': 9 bits is outside 2...8"],
             quantize(["--bits", "layer1=9", "--noise", "32"])),
    BadInput("genie run with --bits activation bits for the image", status: 64, says: ["--bits", "the input of conv1 is the image"]) { _ in
        ["run", "--weights", resnet20, "--bits", "conv1=8/8", "--out", "run"]
    },
    BadInput("--abits below 2", status: 64, says: ["--abits must be in 2...8, got 1"], quantize(["--abits", "1", "--noise", "32"])),
    BadInput("genie run with --wbits 1", status: 64, says: ["--wbits must be in 2...8, got 1"]) { _ in
        ["run", "--weights", resnet20, "--wbits", "1", "--out", "run"]
    },
    // Named choices.
    BadInput("--method that GENIE-M does not know", status: 64, says: ["'fast' is invalid for '--method <method>'", "'genie', 'genie-paper', 'brecq' or 'rtn'"],
             quantize(["--method", "fast", "--noise", "32"])),
    BadInput("--round-weight with --method genie-paper", status: 64, says: ["--round-weight", "genie-paper fixes the rounding weight", "--method genie"],
             quantize(["--method", "genie-paper", "--round-weight", "0.01", "--noise", "32"])),
    BadInput("--softbit-lr with --method genie-paper", status: 64, says: ["--softbit-lr", "genie-paper fixes the softbits' learning rate", "--method genie"],
             quantize(["--method", "genie-paper", "--softbit-lr", "0.01", "--noise", "32"])),
    BadInput("--softbit-lr of 0", status: 64, says: ["--softbit-lr must be positive and finite, got 0.0"], quantize(["--softbit-lr", "0", "--noise", "32"])),
    BadInput("--no-swing with --method genie-paper", status: 64, says: ["--no-swing", "genie-paper fixes swing convolution on", "--method genie --no-swing"]) { _ in
        ["distill", "--weights", resnet20, "--method", "genie-paper", "--no-swing", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--swing-min-side with --method genie-paper", status: 64, says: ["--swing-min-side", "genie-paper swings every strided convolution", "--method genie"]) { _ in
        ["distill", "--weights", resnet20, "--method", "genie-paper", "--swing-min-side", "14", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--swing-min-side below 0", status: 64, says: ["--swing-min-side must be at least 0, got -1"]) { _ in
        ["distill", "--weights", resnet20, "--swing-min-side=-1", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--label-weight below 0", status: 64, says: ["--label-weight must be at least 0, got -1.0"]) { _ in
        ["distill", "--weights", resnet20, "--label-weight=-1", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--label-weight with --method genie-paper", status: 64, says: ["--label-weight: only --method genie has a label term"]) { _ in
        ["distill", "--weights", resnet20, "--method", "genie-paper", "--label-weight", "1", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--image-term-weight below 0", status: 64, says: ["--image-term-weight must be at least 0, got -1.0"]) { _ in
        ["distill", "--weights", resnet20, "--image-term-weight=-1", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--image-term-weight with --method pixels", status: 64, says: ["--image-term-weight: only --method genie sets it"]) { _ in
        ["distill", "--weights", resnet20, "--method", "pixels", "--image-term-weight", "0", "--images", "2", "--out", "i.safetensors"]
    },
    BadInput("--preset that genie run does not know", status: 64, says: ["'huge' is invalid for '--preset <preset>'", "'quick' and 'paper'"]) { _ in
        ["run", "--preset", "huge"]
    },
    BadInput("--num-classes 0", says: ["--num-classes must be in 1...100000, got 0"]) { _ in
        ["evaluate", "--weights", resnet20, "--num-classes", "0"]
    },
    BadInput("--arch not in the zoo", says: ["--arch 'vgg' is not in the zoo; known: resnet20"]) { _ in
        ["train", "--arch", "vgg", "--out", "w.safetensors"]
    },
    BadInput("--batch-size 1 for distill", status: 64, says: ["--batch-size must be at least 2"]) { _ in
        ["distill", "--weights", resnet20, "--images", "2", "--batch-size", "1", "--out", "i.safetensors"]
    },
    // Calibration data.
    BadInput("calibration images of the wrong shape", says: ["--calib 'calib.safetensors'", "shape [32, 3, 28, 28]", "[N, 1, 28, 28]"],
             quantize(["--calib", "calib.safetensors"], files: writeCalibration([32, 3, 28, 28]))),
    BadInput("calibration images not a multiple of 32", says: ["--calib 'calib.safetensors'", "20 calibration images", "multiple of 32"],
             quantize(["--calib", "calib.safetensors"], files: writeCalibration([20, 1, 28, 28]))),
    BadInput("calibration file without images", says: ["--calib 'calib.safetensors'", "no 'images' tensor"],
             quantize(["--calib", "calib.safetensors"], files: writeCalibration([32, 1, 28, 28], name: "x"))),
    BadInput("NaN calibration images", says: ["--calib 'calib.safetensors'", "NaN or infinite"],
             quantize(["--calib", "calib.safetensors"], files: writeCalibration([32, 1, 28, 28], value: .nan))),
    BadInput("--noise not a multiple of 32", says: ["--noise", "20 calibration images", "multiple of 32"], quantize(["--noise", "20"])),
    BadInput("genie run --images not a multiple of 32", says: ["--images: 48 calibration images", "multiple of 32"]) { _ in
        ["run", "--weights", resnet20, "--images", "48", "--out", "run"]
    },
    // Image folders.
    BadInput("empty image folder", says: ["images", "holds no class folders and no image files", "the folder is empty"],
             quantize(["--real-folder", "images"]) { try FileManager.default.createDirectory(at: $0.appendingPathComponent("images"), withIntermediateDirectories: true) }),
    BadInput("folder without images", says: ["images", "holds no class folders and no image files", "notes.txt"], quantize(["--real-folder", "images"]) { folder in
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: folder.appendingPathComponent("images/notes.txt"))
    }),
    BadInput("a .png that is not a PNG", says: ["images/a.png", "is of an unknown type; only JPEG and PNG images can be read"], quantize(["--real-folder", "images"]) { folder in
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: folder.appendingPathComponent("images/a.png"))
    }),
    BadInput("image of the wrong size", says: ["images/a.png", "is 10x12", "takes 28x28", "pass --resize and --crop"], quantize(["--real-folder", "images"]) { folder in
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        try PNG.write(PNGImage(width: 12, height: 10, channels: 1, pixels: .init(repeating: 7, count: 120)),
                      to: folder.appendingPathComponent("images/a.png"))
    }),
    BadInput("missing image folder", says: ["absent", "no such folder"], quantize(["--real-folder", "absent"])),
    BadInput("a truncated JPEG among calibration images", says: ["images/a.jpg", "JPEG file is truncated"], quantize(["--real-folder", "images"]) { folder in
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: repository.appendingPathComponent("Tests/Fixtures/imagefolder/0/t00019.jpg"))
        try jpeg.prefix(jpeg.count / 2).write(to: folder.appendingPathComponent("images/a.jpg"))
    }),
    BadInput("--real N larger than the folder", says: ["images", "holds 1 images; cannot draw 32"], quantize(["--real-folder", "images", "--real", "32"]) { folder in
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Tests/Fixtures/imagefolder/0/t00019.jpg"),
                                         to: folder.appendingPathComponent("images/a.jpg"))
    }),
    BadInput("--resize without image files", status: 64, says: ["--resize and --crop apply to image files (--data DIR)"]) { _ in
        ["evaluate", "--weights", resnet20, "--resize", "32"]
    },
    // Data set files.
    BadInput("missing Fashion-MNIST files", says: ["t10k-images-idx3-ubyte", "missing", "apt-get install dataset-fashion-mnist"],
             environment: { ["GENIE_FASHION_MNIST_DIR": $0.path] }) { _ in ["evaluate", "--weights", resnet20] },
    BadInput("damaged Fashion-MNIST file", says: ["t10k-images-idx3-ubyte.gz"], environment: { ["GENIE_FASHION_MNIST_DIR": $0.path] }) { folder in
        for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try Data([0x1F, 0x8B, 8, 0, 0, 0]).write(to: folder.appendingPathComponent(name))
        }
        return ["evaluate", "--weights", resnet20]
    },
    // Outputs that cannot be written.
    BadInput("--out in a folder that is a file", says: ["--out 'afile/q.safetensors'", "does not exist"], quantize(["--noise", "32", "--out", "afile/q.safetensors"]) { folder in
        try Data().write(to: folder.appendingPathComponent("afile"))
    }),
    BadInput("distill --out names a folder", says: ["--out 'images'", "is a folder"]) { folder in
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
        return ["distill", "--weights", resnet20, "--images", "2", "--out", "images"]
    },
    BadInput("genie run --out under a file", says: ["--out 'afile/run'", "cannot create the folder"]) { folder in
        try Data().write(to: folder.appendingPathComponent("afile"))
        return ["run", "--weights", resnet20, "--out", "afile/run"]
    },
]

@Suite struct BadInputTests {
    @Test(arguments: badInputs + benchBadInputs)
    func isRefusedWithAClearMessage(_ input: BadInput) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (arguments, environment) = try input.prepare(folder)
        let result = try genie(arguments, in: folder, environment: environment)
        #expect(result.status == input.status, "\(result)")
        for words in input.says { #expect(result.stderr.contains(words), "\(result)") }
        #expect(!result.stderr.contains("Fatal error"), "\(result)")
    }
}
