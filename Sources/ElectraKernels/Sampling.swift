/// Draws one class per row from softmax(logits / temperature) by the inverse CDF, and
/// reports each row's argmax: RTD's generator samples its replacements this way (no gradient
/// flows through the draw). `uniforms[r]` in [0, 1) is row r's draw, made by the caller from
/// its seeded generator, so results do not depend on how rows are split across threads.
/// logits [rows, classes] are left unchanged.
public func sampleCategorical(
    logits: UnsafePointer<Float>, rows: Int, classes: Int, temperature: Float, uniforms: [Float]
) -> (samples: [Int], argmax: [Int]) {
    precondition(uniforms.count >= rows && temperature > 0)
    var samples = [Int](repeating: 0, count: rows), best = [Int](repeating: 0, count: rows)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Parallel.threads * classes)
    defer { scratch.deallocate() }
    samples.withUnsafeMutableBufferPointer { sp in
        best.withUnsafeMutableBufferPointer { bp in
            let (sp, bp) = (sp.baseAddress!, bp.baseAddress!)
            Parallel.forRanges(rows, minChunk: 4) { t, range in
                let row = scratch + t * classes
                for r in range {
                    let src = logits + r * classes
                    bp[r] = argmaxRow(src, classes)
                    row.update(from: src, count: classes)
                    if temperature != 1 { scaleRow(row, classes, by: 1 / temperature) }
                    let total = expShiftedRow(row, classes)
                    let threshold = uniforms[r] * total
                    var acc: Float = 0, pick = classes - 1
                    for j in 0..<classes {
                        acc += row[j]
                        if acc > threshold { pick = j; break }
                    }
                    sp[r] = pick
                }
            }
        }
    }
    return (samples, best)
}

/// The index of the first largest of x[0..<n].
public func argmaxRow(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
    let m = vmaxElement(x, n)
    var i = 0
    while x[i] != m { i += 1 }
    return i
}
