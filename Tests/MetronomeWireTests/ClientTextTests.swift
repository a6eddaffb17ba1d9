import Testing

@testable import MetronomeWire

struct ClientTextTests {
    @Test func quotesShortTextWithControlCharactersEscaped() {
        #expect(ClientText.quoted("abc") == "'abc'")
        #expect(ClientText.quoted("a\nb\r\u{1b}[2J'\\") == #"'a\nb\r\u{1b}[2J\'\\'"#)
        #expect(ClientText.quoted("\u{2028}é") == "'\\u{2028}é'")
        #expect(ClientText.quoted([0x61, 0xFF, 0x62]) == "'a\u{FFFD}b'")
    }

    @Test func quotesAtMost256BytesAndSaysHowLongTheInputWas() {
        let long = String(repeating: "a", count: 15 << 20)
        let quoted = ClientText.quoted(long)
        #expect(quoted == "'" + String(repeating: "a", count: 256) + "…' (15728640 bytes)")
        // A cut never splits a character into a replacement character.
        let multibyte = ClientText.quoted(String(repeating: "é", count: 200))
        #expect(!multibyte.contains("\u{FFFD}"))
        #expect(multibyte.hasPrefix("'" + String(repeating: "é", count: 128) + "…'"))
    }

    @Test func escapesControlCharactersInFreeText() {
        #expect(ClientText.escapingControlCharacters("plain text") == "plain text")
        #expect(ClientText.escapingControlCharacters("x\ny\u{7}") == #"x\ny\u{7}"#)
    }
}
