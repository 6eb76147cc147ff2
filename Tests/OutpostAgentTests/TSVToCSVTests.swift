@testable import OutpostAgent
import Testing

@Suite("TSV to CSV (mysql-csv)")
struct TSVToCSVTests {
    func convert(_ chunks: [String]) -> String {
        var converter = TSVToCSV()
        var out: [UInt8] = []
        for chunk in chunks { out += converter.convert(Array(chunk.utf8)) }
        out += converter.finish()
        return String(decoding: out, as: UTF8.self)
    }

    @Test("plain rows become comma-separated; values with commas, quotes and escapes are quoted")
    func rows() {
        let tsv = "id\tname\tnote\n1\tapple\tNULL\n2\tpear, green\tsays \"hi\"\n3\tmulti\\nline\ttab\\there\\\\slash\n"
        #expect(
            convert([tsv])
                == "id,name,note\n1,apple,NULL\n2,\"pear, green\",\"says \"\"hi\"\"\"\n3,\"multi\nline\",tab\there\\slash\n")
    }

    @Test("a row split across reads is held until its end; a last line without a line break is flushed")
    func splitRows() {
        #expect(convert(["a\tb\n1", "\t2\n3\t", "4"]) == "a,b\n1,2\n3,4")
        #expect(convert(["", "x\n"]) == "x\n")
    }
}
