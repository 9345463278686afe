import Foundation
import Testing

@testable import ElectraTraining

/// The SQuAD metrics on hand-made cases whose scores follow from the official definitions
/// (normalisation, best over gold answers, the v2.0 empty-answer rule).
struct SquadMetricsTests {
    @Test func normalisation() {
        #expect(SquadMetrics.normalize("The  Eiffel-Tower!") == "eiffeltower")
        #expect(SquadMetrics.normalize("  a cat, an ANT and the dog.") == "cat ant and dog")
        #expect(SquadMetrics.normalize("Théâtre") == "théâtre")  // only ASCII punctuation goes
        #expect(SquadMetrics.normalize("the") == "")
        #expect(SquadMetrics.normalize("a—b theatre") == "—b theatre")  // \b around non-ASCII punctuation
    }

    @Test func exactAndF1() {
        #expect(SquadMetrics.exact("Denver Broncos", "the denver broncos.") == 1)
        // gold [denver, broncos], predicted [broncos, won]: 1 common, P 1/2, R 1/2.
        #expect(abs(SquadMetrics.f1("Denver Broncos", "Broncos won") - 0.5) < 1e-12)
        // Repeated tokens count as often as they occur on both sides: P 2/3, R 1.
        #expect(abs(SquadMetrics.f1("New York New", "new york new york") - 6.0 / 7) < 1e-12)
        #expect(SquadMetrics.f1("", "") == 1 && SquadMetrics.f1("", "x") == 0 && SquadMetrics.f1("the", "") == 1)
    }

    @Test func versionOneAndTwo() {
        let qs = [SquadMetrics.Question(id: "1", answers: ["Denver Broncos", "Broncos"]),
                  SquadMetrics.Question(id: "2", answers: ["1990"]),
                  SquadMetrics.Question(id: "3", answers: ["Santa Clara, California"])]
        let v1 = SquadMetrics.evaluate(qs, predictions: ["1": "broncos", "2": "in 1990", "3": "Santa Clara"], version2: false)
        // EM: 1, 0, 0 -> 33.33; F1: 1, 2/3 (P 1/2, R 1), 0.8 (P 1, R 2/3) -> 82.22.
        #expect(abs(v1["exact_match"]! - 100.0 / 3) < 1e-9)
        #expect(abs(v1["f1"]! - 100 * (1 + 2.0 / 3 + 0.8) / 3) < 1e-9)
        // An unanswered question scores 0 but counts.
        #expect(abs(SquadMetrics.evaluate(qs, predictions: ["1": "Broncos"], version2: false)["exact_match"]! - 100.0 / 3) < 1e-9)

        let v2qs = qs + [SquadMetrics.Question(id: "4", answers: []), SquadMetrics.Question(id: "5", answers: [])]
        let v2 = SquadMetrics.evaluate(v2qs, predictions: ["1": "broncos", "2": "", "3": "Santa Clara", "4": "", "5": "something"], version2: true)
        #expect(v2["total"] == 5 && v2["HasAns_total"] == 3 && v2["NoAns_total"] == 2)
        #expect(abs(v2["NoAns_exact"]! - 50) < 1e-9 && abs(v2["HasAns_exact"]! - 100.0 / 3) < 1e-9)
        #expect(abs(v2["f1"]! - 100 * (1 + 0 + 0.8 + 1 + 0) / 5) < 1e-9)
    }

    /// Against the official scripts' logic as transformers ships it
    /// (scripts/reference/make_squad_fixture.py): normalisation of accents, CJK, tabs and
    /// no-break spaces, non-ASCII punctuation, v1.1's and v2.0's F1, the totals and splits.
    @Test func matchesTheOfficialScripts() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("squad_metrics.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        for case let n as [String: String] in root["normalize"] as! [Any] {
            #expect(SquadMetrics.normalize(n["text"]!) == n["normalized"]!, "\(n["text"]!)")
        }
        for case let p as [String: Any] in root["pairs"] as! [Any] {
            let g = p["gold"] as! String, q = p["predicted"] as! String
            #expect(SquadMetrics.exact(g, q) == (p["exact"] as! NSNumber).doubleValue, "\(g) / \(q)")
            #expect(abs(SquadMetrics.f1(g, q) - (p["f1"] as! NSNumber).doubleValue) < 1e-12, "\(g) / \(q)")
        }
        for (key, version2) in [("v1", false), ("v2", true)] {
            let v = root[key] as! [String: Any]
            let questions = (v["questions"] as! [[String: Any]]).map {
                SquadMetrics.Question(id: $0["id"] as! String, answers: $0["answers"] as! [String])
            }
            let predictions = v["predictions"] as! [String: String]
            let got = SquadMetrics.evaluate(questions, predictions: predictions, version2: version2)
            let want = version2 ? v["metrics"] as! [String: NSNumber]
                : ["exact_match": v["exact_match"] as! NSNumber, "f1": v["f1"] as! NSNumber]
            #expect(Set(got.keys) == Set(want.keys), "\(key)")
            for (name, value) in want {
                #expect(abs((got[name] ?? .nan) - value.doubleValue) < 1e-9, "\(key) \(name): \(got[name] ?? .nan) vs \(value)")
            }
            // Question by question, through evaluate on one question.
            for q in questions where predictions[q.id] != nil {
                let per = (v["per_question"] as! [String: [String: NSNumber]])[q.id]!
                let one = SquadMetrics.evaluate([q], predictions: predictions, version2: version2)
                #expect(abs(one[version2 ? "exact" : "exact_match"]! / 100 - per["exact"]!.doubleValue) < 1e-12, "\(key) \(q.id)")
                #expect(abs(one["f1"]! / 100 - per["f1"]!.doubleValue) < 1e-12, "\(key) \(q.id)")
            }
        }
    }
}
