<?php
// Parse QuickStatements V1 text (standard input) with the tool's own parser; print its commands as JSON.
// Usage: php v1_parse.php quickstatements.php < batch.txt
$source = file_get_contents($argv[1]);
$source = preg_replace('/^\s*require_once\b.*$/m', '', $source);   // database/OAuth/MediaWiki helpers: not needed to parse
$source = preg_replace('/^\s*<\?php/i', '', $source);
$source = preg_replace('/\?>\s*$/', '', $source);
eval($source);

class ParserOnly extends QuickStatements {
    public function __construct() {     // as upstream's tests/QuickStatementsTest.php: no config file, no database
        $this->config = (object) ['site' => 'wikidata', 'sites' => (object) ['wikidata' => (object) [
            'types' => (object) ['P' => (object) ['type' => 'property'], 'Q' => (object) ['type' => 'item'],
                                 'L' => (object) ['type' => 'lexeme']],
            'entityBase' => 'http://www.wikidata.org/entity/']]];
    }
}

$qs = new ParserOnly();
echo json_encode($qs->importData(stream_get_contents(STDIN), 'v1'), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
