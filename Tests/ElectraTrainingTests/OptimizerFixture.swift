import Foundation
import Testing
import Electra
@testable import ElectraTraining

/// Fixtures written by scripts/reference/make_optimizer_fixtures.py.
struct OptimizerFixture {
    struct ParamInfo: Decodable { let name: String; let shape: [Int]; let role: String }
    struct Run: Decodable { let norms: [Double]; let lrs: [Double]; let eps: Double }
    struct Schedules: Decodable {
        let steps: [Int]
        let constant: [Double]
        let constant_with_warmup_3: [Double]
        let linear_3_10: [Double]
        let linear_0_10: [Double]
        let electra_3_10_p1: [Double]
        let electra_3_10_p2: [Double]
    }
    struct Meta: Decodable {
        let params: [ParamInfo]
        let steps: Int
        let peak: Double
        let weight_decay: Double
        let warmup: Int
        let total: Int
        let layer_decay: Double
        let n_layers: Int
        let adamw: Run
        let electra: Run
        let schedules: Schedules
    }

    let meta: Meta
    let file: SafeTensorsFile

    static let shared: OptimizerFixture = {
        let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        let meta = try! JSONDecoder().decode(Meta.self, from: Data(contentsOf: dir.appendingPathComponent("optimizer.json")))
        let file = try! SafeTensorsFile(url: dir.appendingPathComponent("optimizer.safetensors"))
        return OptimizerFixture(meta: meta, file: file)
    }()

    func tensor(_ name: String) throws -> Tensor { try file.floatTensor(name).copy() }

    static func role(_ s: String) -> ParameterRole {
        switch s {
        case "embedding": .embedding
        case "linearWeight": .linearWeight
        case "bias": .bias
        case "layerNormWeight": .layerNormWeight
        case "layerNormBias": .layerNormBias
        default: fatalError("unknown role \(s)")
        }
    }

    /// A fresh table holding the fixture's initial parameters.
    func makeTable() throws -> ParameterTable {
        let table = ParameterTable()
        for p in meta.params {
            let t = try tensor("init.\(p.name)")
            #expect(t.shape == p.shape)
            table.register(p.name, Parameter(t, role: Self.role(p.role)))
        }
        return table
    }

    /// Puts the fixture's step-`t` gradients into the parameters' grad buffers.
    func setGrads(_ table: ParameterTable, step t: Int) throws {
        for p in meta.params {
            table[p.name]!.grad = try tensor("grad\(t).\(p.name)")
        }
    }
}

/// Largest |a - b| beyond the allowed error max(1e-5, 1e-6 |b|), and the worst diff seen.
struct Comparison {
    var worstAbs: Float = 0
    var failures: [String] = []

    mutating func check(_ a: Tensor, _ b: Tensor, _ what: String) {
        guard a.shape == b.shape else {
            failures.append("\(what): shape \(a.shape) vs \(b.shape)")
            return
        }
        let pa = a.pointer, pb = b.pointer
        for i in 0..<a.count {
            let d = abs(pa[i] - pb[i])
            worstAbs = max(worstAbs, d)
            if !(d <= max(1e-5, 1e-6 * abs(pb[i]))) {
                failures.append("\(what)[\(i)]: \(pa[i]) vs expected \(pb[i])")
                return
            }
        }
    }
}

extension Comparison {
    /// For optimizer moments, whose values (exp_avg_sq ~ g^2 / 1000) sit far below any fixed
    /// absolute floor: each element within 1e-4 of its own size, or of 1% of the tensor's
    /// largest (for elements near zero). 1e-4 because torch sums the clipping norm in fp32:
    /// its clip coefficients differ from ours (Double sums) by up to ~7e-6, twice that in
    /// g^2. An all-zero expectation is a failure of the fixture.
    mutating func checkRelative(_ a: Tensor, _ b: Tensor, _ what: String) {
        guard a.shape == b.shape else {
            failures.append("\(what): shape \(a.shape) vs \(b.shape)")
            return
        }
        let peak = b.scalars.map(abs).max() ?? 0
        guard peak > 0 else {
            failures.append("\(what): the expected tensor is all zeros")
            return
        }
        for i in 0..<a.count {
            let d = abs(a.pointer[i] - b.pointer[i])
            if !(d <= 1e-4 * max(abs(b.pointer[i]), 0.01 * peak)) {
                failures.append("\(what)[\(i)]: \(a.pointer[i]) vs expected \(b.pointer[i])")
                return
            }
        }
    }
}

func relClose(_ a: Double, _ b: Double, rel: Double = 1e-6, abs absTol: Double = 1e-9) -> Bool {
    abs(a - b) <= max(absTol, rel * abs(b))
}
