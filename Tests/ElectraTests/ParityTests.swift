import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// Every fixture folder written by scripts/reference/make_model_fixtures.py (HF transformers
/// 4.57): same weights, same inputs, every output within 1e-5 of HF's.
struct ParityTests {
    static let tolerance: Float = 1e-5

    static var fixtureCases: [String] {
        let dir = Fixtures.models
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).appendingPathComponent("expected.safetensors").path) }
            .sorted()
    }

    @Test func fixturesArePresent() {
        #expect(Self.fixtureCases.count >= 14, "found \(Self.fixtureCases)")
    }

    @Test(arguments: fixtureCases)
    func matchesTransformers(_ name: String) throws {
        let dir = Fixtures.models.appendingPathComponent(name)
        let modelDir = dir.appendingPathComponent("model")
        let config = try ElectraConfig.load(from: modelDir.appendingPathComponent("config.json"))
        let task = try ElectraTask.fromConfig(config)
        let (model, report) = try task.load(from: modelDir)
        #expect(report.missing.isEmpty, "missing: \(report.missing)")
        #expect(report.unexpected.isEmpty, "unexpected: \(report.unexpected)")
        let expected = try SafeTensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
        let inputs = try ElectraInputs.read(from: dir.appendingPathComponent("inputs.safetensors"))
        let wantsHidden = expected.names.contains { $0.hasPrefix("hidden_states.") }
        let wantsAttn = expected.names.contains { $0.hasPrefix("attentions.") }
        let out = try model(inputs, options: ForwardOptions(outputHiddenStates: wantsHidden, outputAttentions: wantsAttn))
        let produced = Dictionary(uniqueKeysWithValues: out.namedTensors)
        var worst: (String, Float) = ("", 0)
        for key in expected.names {
            let want = try expected.floatTensor(key)
            guard let got = produced[key] else {
                Issue.record("\(name): no output '\(key)'")
                continue
            }
            #expect(got.shape == want.shape || (key == "loss" && got.count == 1), "\(name) \(key): shape \(got.shape) vs \(want.shape)")
            let d = maxAbsDiff(got, want)
            if d > worst.1 { worst = (key, d) }
            #expect(d <= Self.tolerance, "\(name) \(key): max abs diff \(d)")
        }
        print("parity \(name): worst max-abs-diff \(worst.1) (\(worst.0)) over \(expected.names.count) tensors")
        // Without attentions requested, attention normalises its output rows instead of the
        // probabilities: the same numbers must come out of that path too.
        if wantsAttn {
            let plain = try model(inputs, options: ForwardOptions(outputHiddenStates: wantsHidden))
            for (key, got) in plain.namedTensors {
                let d = maxAbsDiff(got, try expected.floatTensor(key))
                #expect(d <= Self.tolerance, "\(name) \(key) without attentions: max abs diff \(d)")
            }
        }
        // The inference weight layout ([in, out] copies of the encoder's weights) computes
        // the same numbers.
        model.setInferenceWeightLayout(true)
        defer { model.setInferenceWeightLayout(false) }
        let fast = try model(inputs, options: ForwardOptions(outputHiddenStates: wantsHidden))
        #expect(model.backbone.inferenceWeightLayoutBytes > 0)
        for (key, got) in fast.namedTensors {
            let d = maxAbsDiff(got, try expected.floatTensor(key))
            #expect(d <= Self.tolerance, "\(name) \(key) with the inference weight layout: max abs diff \(d)")
        }
    }

    @Test func parameterCountsMatchHF() throws {
        let data = try Data(contentsOf: Fixtures.models.appendingPathComponent("parameter_counts.json"))
        let counts = try JSONDecoder().decode([String: Int].self, from: data)
        #expect(counts["small"] == 13_483_008)
        for (name, want) in counts {
            let c = ElectraConfig.preset(name)!
            let model = try ElectraModel(config: c, builder: ParameterBuilder(weights: nil, initializerRange: 0.02, randomInit: false))
            #expect(model.parameterCount == want, "\(name): \(model.parameterCount) vs HF \(want)")
        }
    }
}

func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for i in 0..<a.count {
        let d = abs(a.pointer[i] - b.pointer[i])
        if d.isNaN { return .infinity }
        m = max(m, d)
    }
    return m
}

enum Fixtures {
    static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }
    static var models: URL { root.appendingPathComponent("models") }
}
