import Foundation
import Testing
import Tensors

@Suite struct AtomicFileTests {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func writesReplacesAndLeavesNoTemporaryFile() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.bin")
        // A temporary file left by a killed run is taken over and renamed away.
        try Data([9, 9, 9, 9, 9, 9]).write(to: dir.appendingPathComponent(".a.bin.tmp"))
        try AtomicFile.write([1, 2, 3], to: url)
        #expect(try Data(contentsOf: url) == Data([1, 2, 3]))
        try AtomicFile.write("four", to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "four")
        try AtomicFile.write([], to: url)
        #expect(try Data(contentsOf: url).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.bin"])
    }

    @Test func unwritablePlacesAreErrorsNamingTheFile() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data().write(to: dir.appendingPathComponent("file"))
        let bad = dir.appendingPathComponent("file/x.safetensors")
        #expect(throws: AtomicFileError.self) { try AtomicFile.write([1], to: bad) }
        do { try SafeTensors().write(to: bad); Issue.record("no error") } catch {
            #expect("\(error)" == "safetensors file '\(bad.path)' cannot be created (Not a directory)")
        }
        // Writing over a folder fails at the rename and leaves nothing behind.
        let sub = dir.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: sub.appendingPathComponent("inner"), withIntermediateDirectories: true)
        #expect(throws: AtomicFileError.self) { try AtomicFile.write([1], to: sub.appendingPathComponent("inner")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sub.path) == ["inner"])
    }
}
