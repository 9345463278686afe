import Foundation
import Testing

@testable import Electra

extension CLITests {
    static let pipelineFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ElectraPipelinesTests/Fixtures/pipelines")

    /// HF's value for a fixture case (scripts/reference/make_pipeline_fixtures.py).
    func hfOutput(_ name: String) throws -> Any {
        let data = try Data(contentsOf: Self.pipelineFixtures.appendingPathComponent("cases.json"))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return cases.first { $0["name"] as? String == name }!["output"]!
    }

    func same(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (let x as [String: Any], let y as [String: Any]): return Set(x.keys) == Set(y.keys) && x.keys.allSatisfy { same(x[$0]!, y[$0]!) }
        case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (let x as String, let y as String): return x == y
        case (let x as NSNumber, let y as NSNumber): return abs(x.doubleValue - y.doubleValue) <= 1e-4
        default: return false
        }
    }

    /// `--json` prints exactly what HF's pipeline() returns for the same input and options.
    @Test func jsonOutputIsHFPipelinesValue() throws {
        let f = Self.pipelineFixtures.path
        let cases: [([String], String)] = [
            (["predict", "--model", f + "/seqcls-3", "--json", "My name is Wolfgang and I live in Berlin"], "seqcls3_single"),
            (["predict", "--model", f + "/seqcls-3", "--json", "--top-k", "2", "What a wonderful, great day in Paris!"], "seqcls3_top_k_2"),
            (["predict", "--model", f + "/seqcls-3", "--json", "--top-k", "all", "--function-to-apply", "none", "What a wonderful, great day in Paris!"], "seqcls3_function_none"),
            (["predict", "--model", f + "/ner-bio", "--json", "--aggregation-strategy", "average", "José Martínez visitó São Paulo y Zürich"], "ner_average_acc"),
            (["predict", "--model", f + "/ner-bio", "--json", "My name is Wolfgang and I live in Berlin"], "ner_default_kwargs"),
            (["predict", "--model", f + "/qa", "--json", "--question", "Where do I live?", "--context", "My name is Wolfgang and I live in Berlin"], "qa_single"),
            (["fill-mask", "--model", f + "/mlm", "--json", "--top-k", "3", "The capital of France is [MASK]."], "mlm_top_k_3"),
        ]
        for (args, name) in cases {
            let r = try run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let ours = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: [.fragmentsAllowed])
            #expect(same(ours, try hfOutput(name)), "\(name): \(r.stdout)")
        }
    }
}
