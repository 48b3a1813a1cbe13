import Foundation
import Testing
import Tensors
import Data

@Suite struct ImageGridTests {
    @Test func laysOutImagesWithBordersLikeMakeGrid() throws {
        // Three 1x2x2 images, 2 per row, border 1 of value 1: a 3+2+... = 7 wide, 7 tall grid.
        let images = Tensor(shape: [3, 1, 2, 2], scalars: [0, 0.5, 1, 2, -1, 0.2, 0.4, 0.6, 0.1, 0.1, 0.1, 0.1])
        let grid = try ImageGrid.render(images, columns: 2, border: 1, borderValue: 1)
        #expect(grid.width == 7 && grid.height == 7 && grid.channels == 1)
        let rows = (0..<7).map { Array(grid.pixels[($0 * 7)..<($0 * 7 + 7)]) }
        #expect(rows[0] == [255, 255, 255, 255, 255, 255, 255])
        #expect(rows[1] == [255, 0, 128, 255, 0, 51, 255])  // 0.5 -> floor(128.0), -1 clamps to 0, 0.2 -> 51
        #expect(rows[2] == [255, 255, 255, 255, 102, 153, 255])  // 2 clamps to 255
        #expect(rows[4] == [255, 26, 26, 255, 255, 255, 255])  // the empty cell keeps the border value
    }

    @Test func invertsNormalizationAndScalesByTheGridRange() throws {
        let norm = Normalization(mean: [0.5], std: [0.25])
        let pixels = Tensor(shape: [1, 1, 1, 3], scalars: [0, 0.5, 1])
        let grid = try ImageGrid.render(try norm.apply(pixels), normalization: norm, border: 0)
        #expect(grid.pixels == [0, 128, 255])
        let wide = Tensor(shape: [2, 1, 1, 2], scalars: [-3, 1, 5, 1])
        #expect(try ImageGrid.render(wide, border: 0, scaling: .minMax).pixels == [0, 128, 255, 128])
    }

    @Test func writesAReadablePNG() throws {
        var rng = SeededGenerator(seed: 1)
        let images = Tensor.randomUniform([5, 3, 4, 6], using: &rng)
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("grid.png")
            try ImageGrid.write(images, to: url, columns: 3)
            let back = try PNG.read(url)
            #expect(back == (try ImageGrid.render(images, columns: 3)))
            #expect(back.width == 3 * 8 + 2 && back.height == 2 * 6 + 2 && back.channels == 3)
        }
        #expect(outcome { try ImageGrid.render(Tensor.zeros([2, 2, 4, 4])) }.contains("C = 1 or 3, got [2, 2, 4, 4]"))
    }
}
