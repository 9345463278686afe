import Electra
import Foundation
import Testing

@testable import ElectraTraining

/// Entity metrics against seqeval 1.2.2 (scripts/reference/make_seqeval_fixture.py): IOB1,
/// IOB2, IOBES, type switches, entities at sentence ends, empty predictions, random tags.
struct EntityMetricsTests {
    @Test func matchesSeqeval() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("seqeval.json")
        let root = try JSONValue.parse(Data(contentsOf: url), source: "seqeval.json").objectValue!
        let cases = root["cases"]!.arrayValue!
        #expect(cases.count >= 15)
        for c in cases.map({ $0.objectValue! }) {
            let name = c["name"]!.stringValue!
            func sentences(_ k: String) -> [[String]] { c[k]!.arrayValue!.map { $0.arrayValue!.map { $0.stringValue! } } }
            let gold = sentences("gold"), pred = sentences("pred")
            let chunks = gold.map { EntityMetrics.chunks($0).map { [$0.type, String($0.start), String($0.end)] } }
            let wantChunks = c["chunks_gold"]!.arrayValue!.map { $0.arrayValue!.map { $0.arrayValue!.map { $0.stringValue! } } }
            #expect(chunks == wantChunks, "\(name): chunks \(chunks) vs seqeval's \(wantChunks)")
            let r = try EntityMetrics.evaluate(gold: gold, predicted: pred)
            func close(_ a: Double, _ key: String) { #expect(abs(a - c[key]!.doubleValue!) < 1e-9, "\(name) \(key): \(a) vs \(c[key]!.doubleValue!)") }
            close(r.overall.precision, "overall_precision")
            close(r.overall.recall, "overall_recall")
            close(r.overall.f1, "overall_f1")
            close(r.accuracy, "overall_accuracy")
            let perType = c["per_type"]!.objectValue!
            #expect(Set(r.perType.keys) == Set(perType.keys), "\(name): types \(r.perType.keys.sorted()) vs \(perType.keys.sorted())")
            for (t, v) in perType {
                let want = v.objectValue!, got = r.perType[t]
                #expect(got?.number == want["number"]!.intValue, "\(name) \(t) number")
                for (k, g) in [("precision", got?.precision), ("recall", got?.recall), ("f1", got?.f1)] {
                    #expect(abs((g ?? -1) - want[k]!.doubleValue!) < 1e-9, "\(name) \(t) \(k)")
                }
            }
        }
    }

    @Test func mismatchedLengthsAreErrors() {
        #expect(throws: ElectraError.self) { try EntityMetrics.evaluate(gold: [["O"]], predicted: [["O", "O"]]) }
        #expect(throws: ElectraError.self) { try EntityMetrics.evaluate(gold: [["O"]], predicted: []) }
    }
}
