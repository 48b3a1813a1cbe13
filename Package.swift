// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "genie-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "genie", targets: ["GenieCLI"]),
        .library(name: "Genie", targets: ["Genie"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        // `swift package generate-documentation --target Genie` (DocC); a command plugin, not linked into anything.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // System libraries: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        // The only code that touches raw pointers: buffers, threading, oneDNN calls, loops, raw bytes (besides Data's
        // image codecs). Only Tensors imports it (Tests/TensorsTests/RawPointerFenceTests.swift checks both).
        .target(name: "Kernels", dependencies: [
            "CDNNL", .product(name: "RealModule", package: "swift-numerics"),
        ]),
        // Tensor, autodiff, ops with their pullbacks, RNG, safetensors; Kernels through its typed API only.
        .target(name: "Tensors", dependencies: ["Kernels"]),
        // Modules, layers, losses, state dicts, optimizers and schedules.
        .target(name: "NN", dependencies: ["Tensors"]),
        // The model zoo, with torchvision's state-dict keys.
        .target(name: "Models", dependencies: ["NN"]),
        // Data sets, image files, batching, augmentation.
        .target(name: "Data", dependencies: ["Tensors", "CZlib", "CTurboJPEG"]),
        // GENIE-D, GENIE-M, baselines, evaluation, export.
        .target(name: "Genie", dependencies: ["NN", "Models", "Data"]),
        // The command `genie`; run() only calls library functions. Not named `genie`: on a case-insensitive file
        // system its folder and module would be the library's (`Genie`).
        .executableTarget(name: "GenieCLI", dependencies: [
            "Genie", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Shared test helpers: gradient checks and fixture loading.
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "Kernels", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"]),
        .testTarget(name: "GenieTests", dependencies: ["Genie", "TestSupport"]),
        // The built `genie` command run as a subprocess: bad inputs, kill-and-resume, divergence.
        .testTarget(name: "CommandTests", dependencies: ["Data", "Tensors", "TestSupport"]),
    ]
)
