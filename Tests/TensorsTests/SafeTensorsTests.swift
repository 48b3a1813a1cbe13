import Foundation
import Testing
import Tensors

@Suite struct SafeTensorsTests {
    @Test func roundTripKeepsValuesShapesAndMetadata() throws {
        var file = SafeTensors(metadata: ["arch": "resnet20"])
        file.set("a", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        file.set("b.weight", Tensor(shape: [1], scalars: [-0.5]))
        let back = try SafeTensors(bytes: file.serialized())
        #expect(back.metadata == ["arch": "resnet20"])
        #expect(try back.tensor("a").scalars == [1, 2, 3, 4, 5, 6])
        #expect(try back.tensor("a").shape == [2, 3])
        #expect(try back.tensor("b.weight").scalars == [-0.5])
    }

    @Test func readsFixtureWrittenByPython() throws {
        let t = try fixture("safetensors_dtypes.safetensors")
        #expect(t["f32"]?.scalars == [1.5, -2, 3.25])
        #expect(t["f16"]?.scalars == [1.5, -2, 3.25])
        #expect(t["bf16"]?.scalars == [1.5, -2, 3.25])
        #expect(t["i64"]?.scalars == [7, -3])
        #expect(t["i64"]?.shape == [2, 1])
    }

    @Test func malformedFilesAreRejectedWithTheReason() {
        func reason(_ bytes: [UInt8]) -> String {
            do { _ = try SafeTensors(bytes: bytes, path: "x.safetensors"); return "accepted" } catch {
                return "\(error)"
            }
        }
        func file(_ header: String, data: Int) -> [UInt8] {
            let h = Array(header.utf8)
            return (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) } + h + Array(repeating: 0, count: data)
        }
        #expect(reason([1, 2]).contains("truncated"))
        #expect(reason([255, 0, 0, 0, 0, 0, 0, 0, 1]).contains("runs past the end"))
        #expect(reason(file("{nope", data: 0)).contains("not valid JSON"))
        #expect(reason(file(#"{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}"#, data: 4)).contains("unsupported dtype Q7"))
        #expect(reason(file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4)).contains("needs 8 bytes"))
        #expect(reason(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: 4)).contains("run past the end"))
        #expect(reason(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12)).contains("overlapping"))
        #expect(reason(file(#"[1]"#, data: 0)).contains("not a JSON object"))
        #expect(reason(file(#"{"w":[1]}"#, data: 0)).contains("tensor 'w': entry is not an object"))
        #expect(reason(file(#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: 4)).contains("tensor 'w': missing dtype"))
        #expect(reason(file(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: 4)).contains("tensor 'w': shape"))
        #expect(reason(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: 4)).contains("tensor 'w': data_offsets is not a pair"))
        #expect(reason(file(#"{"__metadata__":{"a":1}}"#, data: 0)).contains("__metadata__ that is not a map of strings"))
        #expect(reason(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4)) == "accepted")
    }

    /// The committed models were written by genie's writer before its header was a Codable type: reading and
    /// writing them again gives the same bytes (header keys in the same order, `features.2` before `features.10`).
    @Test(arguments: ["resnet20.safetensors", "mobilenet_v2.safetensors"])
    func rewritingACommittedModelGivesItsBytesBack(name: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models").appendingPathComponent(name)
        let bytes = try [UInt8](Data(contentsOf: url))
        #expect(try SafeTensors(bytes: bytes).serialized() == bytes)
    }

    @Test func namesAndMetadataWithEscapesSurviveARoundTrip() throws {
        var file = SafeTensors(metadata: ["a/b": "c/d é \n \"q\" \u{1}", "Trained": "x", "πλ": "\\"])
        for name in ["layer/1.weight", "é\"\t", "features.10.w", "features.2.w", "Features.3"] {
            file.set(name, Tensor(shape: [1], scalars: [Float(name.count)]))
        }
        let back = try SafeTensors(bytes: file.serialized())
        #expect(back.metadata == file.metadata)
        #expect(Set(back.entries.keys) == Set(file.entries.keys))
        #expect(try back.tensor("é\"\t").scalars == [3])
    }
}
