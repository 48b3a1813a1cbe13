import Foundation
import Tensors
import Data

/// The directory of committed fixtures (`Tests/Fixtures`).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A committed PNG fixture written by `scripts/fixtures_png.py`.
func pngFixture(_ name: String) -> URL {
    fixturesDirectory.appendingPathComponent("png").appendingPathComponent(name + ".png")
}

/// The expected pixels (`[H, W, C]` bytes) PIL decoded for a PNG fixture, by key (`rgb8.raw`, `rgb8.L`, ...).
func expectedPixels(_ key: String) throws -> (shape: [Int], bytes: [UInt8]) {
    let file = try SafeTensors(contentsOf: fixturesDirectory.appendingPathComponent("png_expected.safetensors"))
    guard let e = file.entries[key] else { throw DataError(path: "png_expected.safetensors", reason: "has no \(key)") }
    return (e.shape, e.bytes)
}

/// "accepted" if `body` returns, else the thrown error's description.
func outcome<T>(_ body: () throws -> T) -> String {
    do { _ = try body(); return "accepted" } catch { return "\(error)" }
}

/// A fresh empty temporary folder, removed by `body`'s end.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("DataTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Deterministic bytes for synthetic test images.
func testBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
}

// PNG building blocks for hand-made test files (the decoder's own are internal).

/// The 8-byte PNG signature.
let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// A big-endian 32-bit field.
func be32(_ n: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: n >> $0) } }

/// The big-endian 32-bit field at `o`.
func readBE32(_ b: [UInt8], _ o: Int) -> Int {
    Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
}

/// A PNG chunk: length, type, body, CRC of type and body.
func pngChunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
    let typed = Array(type.utf8) + body
    return be32(body.count) + typed + be32(Int(Zlib.crc32(typed[...])))
}

/// The filter type of each row of a well-formed 8-bit PNG file.
func pngFilterTypes(_ png: [UInt8]) throws -> [UInt8] {
    let chunks = chunkList(png)
    let ihdr = chunks[0].body
    let (w, h) = (readBE32(ihdr, 0), readBE32(ihdr, 4))
    let samples = [0: 1, 2: 3, 4: 2, 6: 4][Int(ihdr[9])]!
    let raw = try Zlib.inflate(chunks.filter { $0.type == "IDAT" }.flatMap(\.body), exactCount: h * (w * samples + 1))
    return (0..<h).map { raw[$0 * (w * samples + 1)] }
}
