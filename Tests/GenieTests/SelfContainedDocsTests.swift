import Foundation
import Testing

/// The repository cites only documents it contains: no file names the design notes or the method
/// description that sit outside it, and every citation of docs/METHOD.md or docs/DESIGN.md names a section
/// that exists.
@Suite struct SelfContainedDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The repository's text files (source, scripts, docs, CI), as (path relative to the root, contents).
    static func textFiles() throws -> [(path: String, text: String)] {
        let skipped: Set<String> = [".build", ".git", ".swiftpm", "runs", "Fixtures"]
        let extensions: Set<String> = ["swift", "py", "sh", "md", "json", "yaml", "yml", "txt", "h", "modulemap", ""]
        var files: [(String, String)] = []
        var pending = [root]
        while let folder = pending.popLast() {
            for url in try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.isDirectoryKey]) {
                let name = url.lastPathComponent
                if try url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory == true {
                    if !skipped.contains(name) && (!name.hasPrefix(".") || name == ".ci") { pending.append(url) }
                } else if extensions.contains(url.pathExtension), !name.hasPrefix("."),
                          let data = FileManager.default.contents(atPath: url.path), data.count < 2_000_000,
                          let text = String(data: data, encoding: .utf8) {
                    files.append((String(url.path.dropFirst(root.path.count + 1)), text))
                }
            }
        }
        return files
    }

    @Test func noFileCitesADocumentOutsideTheRepository() throws {
        // Spelled in pieces so that this file does not match itself.
        let outside = ["GENIE" + "-SPEC", "ENGINE" + ".md", "../" + "shared"]
        let files = try Self.textFiles()
        #expect(files.contains { $0.path == "README.md" } && files.count > 100, "the scan found \(files.count) files")
        for (path, text) in files {
            for name in outside where text.contains(name) {
                Issue.record("\(path) cites '\(name)', which is not in the repository; cite docs/METHOD.md or docs/DESIGN.md")
            }
        }
    }

    @Test func citedSectionsOfMethodAndDesignExist() throws {
        let files = try Self.textFiles()
        for doc in ["METHOD", "DESIGN"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent("docs/\(doc).md"), encoding: .utf8)
            let headings = text.split(separator: "\n").filter { $0.hasPrefix("#") }
                .map { $0.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces) }
            let anchors = Set(headings.map(Self.anchor))
            // In comments the file name, a comma and the beginning of a heading in quotes; in links `#` and an anchor.
            let quoted = try Regex("\(doc)\\.md, \"([^\"]+)\"")
            let linked = try Regex("\(doc)\\.md#([a-z0-9-]+)")
            for (path, content) in files {
                for match in content.matches(of: quoted) {
                    let section = String(match.output[1].substring ?? "")
                    #expect(headings.contains { $0.hasPrefix(section) }, "\(path) cites section '\(section)' of \(doc).md, which has none")
                }
                for match in content.matches(of: linked) {
                    let anchor = String(match.output[1].substring ?? "")
                    #expect(anchors.contains(anchor), "\(path) links to \(doc).md#\(anchor), which has no such heading")
                }
            }
        }
    }

    @Test func pathsNamedInTheDocsExist() throws {
        let docs = try Self.textFiles().filter { $0.path.hasSuffix(".md") && !$0.path.hasPrefix("Sources/") }
        let named = try Regex("`((?:Sources|Tests|scripts|docs|models|Fuzz|deploy)/[^`* ]+)`")
        for (path, text) in docs {
            for match in text.matches(of: named) {
                let file = String(match.output[1].substring ?? "")
                #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(file).path),
                        "\(path) names \(file), which does not exist")
            }
        }
    }

    /// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().compactMap { c -> Character? in
            c == " " ? "-" : (c.isLetter || c.isNumber || c == "-" || c == "_") ? c : nil
        })
    }
}
