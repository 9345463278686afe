import ElectraKernels
import Foundation
import Testing

@testable import Electra

struct SafeTensorsTests {
    let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("electra-st-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    func sample() -> Tensor { Tensor(shape: [2, 3], values: [1, -2.5, 3.25, 1e-3, 65504, -0.0]) }

    @Test func roundTripsEveryDtype() throws {
        let url = dir.appendingPathComponent("t.safetensors")
        let ints = IntTensor(shape: [3], values: [-1, 0, 1 << 40])
        try SafeTensorsWriter.write([
            ("f32", .float(sample())), ("f16", .half(sample())), ("bf16", .bfloat16(sample())),
            ("i64", .int64(ints)), ("i32", .int32(IntTensor(shape: [1, 2], values: [7, -8]))),
        ], metadata: ["format": "pt"], to: url)
        let f = try SafeTensorsFile(url: url)
        #expect(f.metadata == ["format": "pt"])
        #expect(try f.floatTensor("f32").scalars == sample().scalars)
        #expect(try f.floatTensor("f16").scalars == [1, -2.5, 3.25, 0.0010004044, 65504, -0.0])
        #expect(try f.floatTensor("bf16").scalars == [1, -2.5, 3.25, 0.00099945068359375, 65536, -0.0])  // torch's bfloat16 rounding
        #expect(try f.intTensor("i64") == ints)
        #expect(try f.intTensor("i32").values == [7, -8])
        #expect(throws: ElectraError.self) { try f.floatTensor("i64") }
        #expect(throws: ElectraError.self) { try f.intTensor("f32") }
    }

    @Test func f32IsMappedWithoutACopy() throws {
        let url = dir.appendingPathComponent("m.safetensors")
        try SafeTensorsWriter.write([("w", .float(sample()))], to: url)
        let f = try SafeTensorsFile(url: url)
        let t = try f.floatTensor("w")
        let p = UnsafeRawPointer(t.pointer)
        #expect(p >= UnsafeRawPointer(f.file.base) && p < UnsafeRawPointer(f.file.base + f.file.size))
    }

    @Test func atomicWriteLeavesNoTempFiles() throws {
        let url = dir.appendingPathComponent("a.safetensors")
        try SafeTensorsWriter.write([("w", .float(sample()))], to: url)
        try SafeTensorsWriter.write([("w", .float(sample()))], to: url)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.safetensors"])
        #expect(throws: ElectraError.self) {
            try SafeTensorsWriter.write([("w", .float(sample()))], to: dir.appendingPathComponent("missing/x.safetensors"))
        }
    }

    /// Builds a file from a raw header and data, for the corruption cases.
    func raw(_ header: String, data: [UInt8] = Array(repeating: 0, count: 24), declaredLength: UInt64? = nil) throws -> URL {
        let url = dir.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        var bytes = Data()
        var n = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
        bytes.append(Data(bytes: &n, count: 8))
        bytes.append(Data(header.utf8))
        bytes.append(Data(data))
        try bytes.write(to: url)
        return url
    }

    @Test func corruptFilesAreClearErrors() throws {
        let good = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
        _ = try SafeTensorsFile(url: try raw(good))  // the baseline parses
        let cases: [(URL, String)] = [
            (try raw(good, data: Array(repeating: 0, count: 10)), "outside the data section"),
            (try raw(good, declaredLength: 1 << 40), "runs past the end of the file"),
            (try raw(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}"#), "outside the data section"),
            (try raw(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#), "overlap"),
            (try raw(#"{"w":{"dtype":"F8_E4M3","shape":[24],"data_offsets":[0,24]}}"#), "unknown dtype F8_E4M3"),
            (try raw(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]"#), "invalid JSON"),
            (try raw(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}}"#), "needs 16"),
            (try raw(#"{"w":{"dtype":"F32","shape":[-6],"data_offsets":[0,24]}}"#), "invalid shape"),
        ]
        for (url, message) in cases {
            #expect {
                _ = try SafeTensorsFile(url: url)
            } throws: { error in
                "\(error)".contains(message) && "\(error)".contains(url.lastPathComponent)
            }
        }
        let tiny = dir.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: tiny)
        #expect(throws: ElectraError.self) { try SafeTensorsFile(url: tiny) }
        #expect(throws: ElectraError.self) { try SafeTensorsFile(url: dir.appendingPathComponent("absent.safetensors")) }
        #expect(throws: ElectraError.self) { try SafeTensorsFile(url: dir) }
    }

    @Test func truncatedCheckpointIsAnError() throws {
        let src = Fixtures.models.appendingPathComponent("base_gelu_e16_h32/model/model.safetensors")
        let data = try Data(contentsOf: src)
        let cut = dir.appendingPathComponent("model.safetensors")
        try data.prefix(data.count - 100).write(to: cut)
        #expect {
            _ = try CheckpointWeights.open(cut)
        } throws: { "\($0)".contains("truncated") }
    }

    @Test func halfConversionsRoundToNearestEven() {
        for f: Float in [0, 1, -2, 0.1, 1e-5, 6e-8, 65504, 1e9, -1e-9] {
            let back = halfToFloat(floatToHalf(f))
            let tol = max(abs(f) * 1e-3, 6e-8)
            #expect(abs(back - min(f, 65504)) <= tol || (f > 65504 && back.isInfinite), "\(f) -> \(back)")
        }
        #expect(bfloat16ToFloat(floatToBFloat16(1.00390625)) == 1.0)  // tie rounds to even
        #expect(bfloat16ToFloat(floatToBFloat16(3.0)) == 3.0)
    }
}
