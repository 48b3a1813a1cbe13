import Foundation
import Testing

/// The raw-pointer fence: only Kernels touches raw pointers (tensor storage, threads, oneDNN), and only Tensors uses
/// Kernels (its typed API: `FloatBuffer` handles and kernel calls, no pointer of its own); every other target reaches
/// storage through Tensor's ops. The one exception is Data's zlib wrapper, named below with why.
@Suite struct RawPointerFenceTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Raw pointers and memory, and the C loops that take them: allowed in Kernels only.
    static let pointerPatterns = [#"\bUnsafe(Mutable)?(Raw)?(Buffer)?Pointer\b"#, #"\bwithUnsafe(Mutable)?(Bytes|BufferPointer|Pointer)\b"#,
                                  #"\.baseAddress\b"#, #"\.pointer\b"#, #"\bUnmanaged\b"#, #"\bOpaquePointer\b"#,
                                  #"\bunsafeBitCast\b"#, #"\bunsafeUninitializedCapacity\b"#, #"^import CKernels$"#]
    /// Kernels' types and tensor storage: allowed in Kernels and Tensors.
    static let kernelPatterns = [#"^import Kernels$"#, #"\bFloatBuffer\b"#, #"\.buffer\b(?!\()"#]
    /// Files outside Kernels that may use raw pointers, with the reason: zlib's C API streams through a `z_stream`
    /// that holds pointers into the input and output, so its small wrapper (inflate, deflate, CRC-32) needs them.
    /// The image codecs' byte loops are in Kernels (`ByteImageKernels`, through Tensors' `ImageBytes`).
    static let pointerExceptions: Set<String> = ["Data/Zlib.swift"]

    /// Every Swift file under Sources/, as (path relative to Sources/, target, lines).
    static func sourceFiles() throws -> [(path: String, target: String, lines: [Substring])] {
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        return try files.map { url in
            let path = String(url.standardizedFileURL.path.dropFirst(sources.standardizedFileURL.path.count + 1))
            let text = try String(contentsOf: url, encoding: .utf8)
            return (path, String(path.prefix { $0 != "/" }), text.split(separator: "\n", omittingEmptySubsequences: false))
        }
    }

    /// `file:line: text` for each line of `files` matching one of `patterns` (comments included: a comment that
    /// spells a pointer type is rare and cheap to reword).
    static func violations(_ files: [(path: String, target: String, lines: [Substring])], _ patterns: [String]) throws -> [String] {
        let regexes = try patterns.map { try Regex($0).anchorsMatchLineEndings().wordBoundaryKind(.simple) }
        return files.flatMap { file in
            file.lines.enumerated().filter { _, line in regexes.contains { line.contains($0) } }
                .map { "Sources/\(file.path):\($0.offset + 1): \($0.element.trimmingCharacters(in: .whitespaces))" }
        }
    }

    @Test func rawPointersAppearOnlyInKernels() throws {
        let files = try Self.sourceFiles()
        #expect(files.filter { $0.target == "Kernels" }.count > 10 && files.count > 80, "the scan found \(files.count) files")
        let outside = files.filter { $0.target != "Kernels" && !Self.pointerExceptions.contains($0.path) }
        let found = try Self.violations(outside, Self.pointerPatterns)
        #expect(found.isEmpty, "raw pointers outside Kernels (move the loop into Kernels behind a Tensor op):\n\(found.joined(separator: "\n"))")
    }

    @Test func kernelsTypesAppearOnlyInKernelsAndTensors() throws {
        let outside = try Self.sourceFiles().filter { !["Kernels", "Tensors"].contains($0.target) }
        let found = try Self.violations(outside, Self.kernelPatterns)
        #expect(found.isEmpty, "Kernels' types or tensor storage outside Kernels and Tensors (use Tensor's ops, `sharesStorage(with:)`):\n\(found.joined(separator: "\n"))")
    }

    /// The library targets of Package.swift that list `dependency`.
    static func dependents(of dependency: String) throws -> [String] {
        let manifest = try String(contentsOf: Self.sources.deletingLastPathComponent().appendingPathComponent("Package.swift"), encoding: .utf8)
        let target = try Regex(#"\.target\(name: "(\w+)", dependencies: \[([^\]]*)\]"#)
        return manifest.matches(of: target).compactMap { match -> String? in
            let (name, dependencies) = (String(match.output[1].substring ?? ""), match.output[2].substring ?? "")
            return dependencies.contains("\"\(dependency)\"") ? name : nil
        }
    }

    @Test func onlyTensorsDependsOnKernelsInThePackage() throws {
        #expect(try Self.dependents(of: "Kernels") == ["Tensors"], "library targets depending on Kernels")
    }

    /// The C loops (Sources/CKernels) take raw pointers too: only Kernels may call them.
    @Test func onlyKernelsDependsOnCKernelsInThePackage() throws {
        #expect(try Self.dependents(of: "CKernels") == ["Kernels"], "library targets depending on CKernels")
    }

    @Test func theScanFindsAPlantedPointer() throws {
        let planted = [(path: "Genie/Planted.swift", target: "Genie",
                        lines: ["let p = x.buffer.pointer", "values.withUnsafeBufferPointer { _ in }", "let fine = 1"] as [Substring])]
        let (pointers, kernels) = (try Self.violations(planted, Self.pointerPatterns), try Self.violations(planted, Self.kernelPatterns))
        #expect(pointers.count == 2, "\(pointers)")
        #expect(kernels.count == 1, "\(kernels)")
    }
}
