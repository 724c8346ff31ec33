<?PHP

/*
To use for editing in a tool (requires a bot.ini file, see below):

require_once ( __DIR__ . '/public_html/quickstatements.php' ) ;

function getQS () {
	$toolname = '' ; // Or fill this in manually
	$path = realpath(dirname(__FILE__)) ;
	$user = get_current_user() ;
	if ( $toolname != '' ) {}
	else if ( preg_match ( '/^tools\.(.+)$/' , $user , $m ) ) $toolname = $m[1] ;
	else if ( preg_match ( '/^\/mnt\/nfs\/[^\/]+\/([^\/]+)/' , $path , $m ) ) $toolname = $m[1] ;
	else if ( preg_match ( '/^\/data\/project\/([^\/]+)/' , $path , $m ) ) $toolname = $m[1] ;
	if ( $toolname == '' ) die ( "getQS(): Can't determine the toolname for $path\n" ) ;
	$qs = new QuickStatements() ;
	$qs->use_oauth = false ;
	$qs->config->bot_config_file = "/data/project/$toolname/bot.ini" ;
	$qs->toolname = $toolname ;
//	$qs->sleep = 1 ; // Sleep 1 sec between edits
	return $qs ;
}

$qs = getQS() ;
$commands = "Q123\tP456\tQ789" ; // Just QuickStatements V1 commands, can be multiple lines with "\n"
$tmp = $qs->importData ( $commands , 'v1' ) ;
$qs->runCommandArray ( $tmp['data']['commands'] ) ;


A bot.ini file needs to exist in your tool home directory, looking like this:
[user]
user = YourBotName
pass = YourBotPassword
*/

require_once ( __DIR__ . '/../../magnustools/public_html/php/common.php' ) ;
require_once ( __DIR__ . '/../../magnustools/public_html/php/wikidata.php' ) ;
require_once ( __DIR__ . '/../../magnustools/public_html/php/oauth.php' ) ;
require_once ( __DIR__ . '/../vendor/autoload.php' ) ;

// QuickStatements class

class QuickStatements {

	public string $last_item = '' ;
	public string $last_form = '' ;
	public string $last_sense = '' ;
	public ?object $wd = null ;
	public ?object $oa = null ;
	public ?object $config = null ;
	public bool $use_oauth = true ;
	public string $last_error_message = '' ;
	public string $toolname = '' ; // To be set if used directly by another tool
	public float $sleep = 0.1 ; // Number of seconds to sleep between each edit
	public bool $use_command_compression = false ;
	public string $bot_config_file = '' ; // Legacy, should be in config.json
	public ?string $temporary_batch_id = null ;
	public bool $retry_on_database_lock = false ;
	public bool $use_user_oauth_for_batch_edits = true ;
	public string $auth_db = '' ;
	public bool $debugging = false ;
	public int $maxlag = 5 ;
	public bool $verbose = false ;
	public bool $logging = true ;

	protected array $actions_v1 = array ( 'L'=>'label' , 'D'=>'description' , 'A'=>'alias' , 'S'=>'sitelink' ) ;
	protected bool $is_batch_run = false ;
	protected string $user_name = '' ;
	protected int $user_id = 0 ;
	protected array $user_groups = [] ;
	protected ?\mysqli $db = null ;
	protected ?object $bot_api = null ;
	protected ?object $last_result = null ;
	protected static ?object $global_bot_api = null ;

	public function __construct () {
		global $wikidata_api_url ;
		$this->config = json_decode ( file_get_contents ( __DIR__ . '/config.json' ) ) ;
		$wikidata_api_url = $this->getSite()->api ;
		$this->wd = new WikidataItemList () ;
	}
/*
	public function setBatchRun ( $is_batch ) {
		$this->is_batch_run = $is_batch ;
	}
*/

	public function generateTemporaryBatchID () {
		return preg_replace('/[^0-9a-f]/','',uniqid('',true));#'#temporary_batch_' . (round(microtime(true) * 1000)) ;
	}

	public function generateAndUseTemporaryBatchID () {
		$this->temporary_batch_id = $this->generateTemporaryBatchID() ;
		return $this->temporary_batch_id ;
	}

	protected function isBatchRun () {
		return $this->is_batch_run ;
	}

	/**
	 * Returns true for LAST, LAST_FORM, and LAST_SENSE keywords.
	 */
	public function isLastKeyword ( string $s ) : bool {
		return in_array ( $s , [ 'LAST' , 'LAST_FORM' , 'LAST_SENSE' ] ) ;
	}

	/**
	 * Resolve a LAST / LAST_FORM / LAST_SENSE keyword to the tracked entity ID.
	 * Returns the empty string when the keyword has no corresponding entity yet.
	 */
	public function resolveLastKeyword ( string $keyword ) : string {
		$keyword = strtoupper ( trim ( $keyword ) ) ;
		if ( $keyword === 'LAST' ) return $this->last_item ;
		if ( $keyword === 'LAST_FORM' ) return $this->last_form ;
		if ( $keyword === 'LAST_SENSE' ) return $this->last_sense ;
		return '' ;
	}

	/**
	 * Encode last_item / last_form / last_sense into a single string for
	 * storage in the batch table's last_item column.
	 */
	protected function encodeLastState () : string {
		if ( $this->last_form === '' && $this->last_sense === '' ) {
			return $this->last_item ; // Plain value — backward compatible
		}
		return $this->last_item . '|' . $this->last_form . '|' . $this->last_sense ;
	}

	/**
	 * Decode a last_item value from the batch table, restoring last_form
	 * and last_sense when present (pipe-delimited).
	 */
	protected function decodeLastState ( string $stored ) : void {
		if ( str_contains ( $stored , '|' ) ) {
			$parts = explode ( '|' , $stored , 3 ) ;
			$this->last_item  = $parts[0] ?? '' ;
			$this->last_form  = $parts[1] ?? '' ;
			$this->last_sense = $parts[2] ?? '' ;
		} else {
			$this->last_item  = $stored ;
			$this->last_form  = '' ;
			$this->last_sense = '' ;
		}
	}

	public function getOA() {
		if ( !isset($this->oa) ) {
			$toolname = 'quickstatements' ; // TODO override with $this->toolname?

			$params = [
				'tool' => $toolname ,
				'language' => $this->getSite()->oauth->language ,
				'project' => $this->getSite()->oauth->project ,
				'ini_file' => $this->getSite()->oauth->ini_file ,
				'mwOAuthUrl' => $this->getSite()->oauth->mwOAuthUrl ,
				'mwOAuthIW' => $this->getSite()->oauth->mwOAuthIW ,
				'apiUrl' => $this->getSite()->api
			] ;
			if ( isset($this->getSite()->oauth->publicMwOAuthUrl) ) $params['publicMwOAuthUrl'] = $this->getSite()->oauth->publicMwOAuthUrl ;
			$this->oa = new MW_OAuth ( $params ) ;
		}
		return $this->oa ;
	}

	public function setOA( MW_OAuth $oa ) {
		if ( isset($this->oa) ) {
			$this->log( 'Overriding one OAuth object with another, this is unexpected' );
		}
		$this->oa = $oa;
	}

	public function getBatch ( $id ) {
		$id *= 1 ;
		$ret = array('commands'=>array()) ;
		$db = $this->getDB() ;
		$sql = "SELECT * FROM command WHERE batch_id=$id" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) {
			$j = json_decode ( $o->json ) ;
			$j->_meta = $o ;
			unset ( $j->_meta->json ) ;
			$ret['commands'][$o->num] = $j ;
		}
		return $ret ;
	}

	public function importData ( $data , $format , $persistent = false ) {
		$ret = array ( "status" => "OK" ) ;
		$format = trim ( strtolower ( $format ) ) ;
		// TODO persistent
		if ( $format == 'v1' ) $this->importDataFromV1 ( $data , $ret ) ;
		elseif ( $format == 'csv' ) $this->importDataFromCSV ( $data , $ret ) ;
		else $ret['status'] = "ERROR: Unknown format $format" ;
		return $ret ;
	}

	public function getCurrentUserID () {
		$oa = $this->getOA() ;
		$cr = $oa->getConsumerRights() ;
		if ( !isset($cr->query) || !isset($cr->query->userinfo) || !isset($cr->query->userinfo->id) ) {
			$this->last_error_message = "Not logged in" ;
			return false ;
		}
		$this->user_name = $cr->query->userinfo->name ;
		$this->user_id = $cr->query->userinfo->id ;
		$this->user_groups = $cr->query->userinfo->groups ;
		if ( !$this->ensureCurrentUserInDB() ) return false ;
		return $this->user_id ;
	}

	public function addBatch ( $commands , $user_id , $name = '' , $site = '' ) {
		if ( $site == '' ) $site = $this->config->site ;
		if ( count($commands) == 0 ) return $this->setErrorMessage ( 'No commands' ) ;
		if ( $this->use_command_compression ) $commands = $this->compressCommands ( $commands ) ;
		$db = $this->getDB() ;
		$ts = $this->getCurrentTimestamp() ;
		$sql = "INSERT INTO batch (name,user,site,ts_created,ts_last_change,status,message) VALUES ('".$db->real_escape_string($name)."',$user_id,'".$db->real_escape_string($site)."','$ts','$ts','LOADING','')" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		$batch_id = $db->insert_id ;
		$serialized = serialize($this->getOA()) ;

		$db2 = openToolDB ( 'quickstatements_auth' ) ;
		$db2->set_charset("utf8mb4") ;
		$sql = "INSERT INTO `batch_oauth` (batch_id,serialized,serialized_json) VALUES ($batch_id,'".$db2->real_escape_string($serialized)."','".$db2->real_escape_string(json_encode(unserialize($serialized, ['allowed_classes' => true])))."')" ;
		if(!$result = $db2->query($sql)) $this->log( "Could not store OAuth information for batch {$batch_id} [{$db->error}]" );
		$db2->close();

		foreach ( $commands AS $k => $c ) {
			$cs = json_encode ( $c ) ;
			if ( trim($cs) == '' ) continue ; // Paranoia
			$status = 'INIT' ;
			if ( isset($c->status) and trim($c->status) != '' ) $status = strtoupper(trim($c->status)) ;
			$sql = "INSERT INTO command (batch_id,num,json,status,ts_change,message) VALUES ($batch_id,$k,'".$db->real_escape_string($cs)."','".$db->real_escape_string($status)."','$ts','')" ;
			if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		}
		$sql = "UPDATE batch SET status='INIT' WHERE id=$batch_id" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		return $batch_id ;
	}

	function setAuthDbName() {
		$sql = "SELECT DATABASE() AS db" ;
		if(!$result = $this->db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $this->db->error . ']'."\n$sql" ) ;
		if ( $o = $result->fetch_object() ) $this->auth_db = preg_replace('/_p$/','_auth',$o->db) ;
		else return $this->setErrorMessage ( 'There was an error running the query [' . $this->db->error . ']'."\n$sql" ) ;
	}

	public function getDB () {
		if ( $this->db !== null ) {
			try {
				if ( !$this->db->query('SELECT 1') ) $this->db = null ;
			} catch ( \Exception $e ) {
				$this->db = null ;
			}
		}
		if ( $this->db === null ) {
			$this->db = openToolDB ( 'quickstatements_p' ) ;
			$this->db->set_charset("utf8mb4") ;
			$this->setAuthDbName() ;
		}
		return $this->db ;
	}

	public function getAPI () {
		return $this->getSite()->api ;
	}

	public function getToolBase () {
	       return rtrim($this->getSite()->toolBase, '/') . '/' ;
	}

	public function isUserBlocked ( $username ) {
		$username = ucfirst ( str_replace ( ' ' , '_' , trim ( $username ) ) ) ;
		$url = $this->getAPI() . "?action=query&list=blocks&format=json&bkusers=" . urlencode ( $username ) ;
		$j = json_decode ( file_get_contents ( $url ) ) ;
		foreach ( $j->query->blocks AS $b ) {
			//if ( $username == $b->user )
			return true ; // We asked for a specific user, so if there is a value, it must be the user, right?
		}
		return false ;
	}

	public function getUsernameFromBatchID ( $batch_id ) {
		$db = $this->getDB() ;
		$user_name = '' ;
		$sql = "SELECT user.name AS `name` FROM {$this->auth_db}.user,batch WHERE user.id=batch.user AND batch.id=$batch_id"  ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) $user_name = $o->name ;
		return $user_name ;
	}

	public function startBatch ( $batch_id ) {
		$batch_id *= 1 ;
		self::$global_bot_api = null ;
		$this->bot_api = null ;
		$db = $this->getDB() ;

		$user_name = $this->getUsernameFromBatchID ( $batch_id ) ;
		if ( $user_name == '' ) return $this->setErrorMessage ( "Cannot determine user name for batch #" . $batch_id ) ;
		if ( $this->isUserBlocked ( $user_name ) ) {
			$sql = "UPDATE batch SET status='BLOCKED' WHERE id=$batch_id" ;
			$db->query($sql) ;
			return $this->setErrorMessage ( "User:$user_name is blocked on Wikidata" ) ;
		}

		$sql = "UPDATE batch SET status='RUN' WHERE id=$batch_id" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		return true ;
	}

	public function runNextCommandInBatch ( $batch_id ) {
		$db = $this->getDB() ;

		$sql = "SELECT last_item,user.id AS user_id,user.name AS user_name FROM batch,{$this->auth_db}.user WHERE batch.id=$batch_id AND user.id=batch.user" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		$o = $result->fetch_object() ;
		$this->decodeLastState ( $o->last_item ) ;
		$this->user_id = $o->user_id ;
		$this->user_name = $o->user_name ;
		$ts = $this->getCurrentTimestamp() ;

		$sql = "SELECT * FROM command WHERE batch_id=$batch_id AND status IN ('INIT') ORDER BY num LIMIT 1" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		$o = $result->fetch_object() ;
		if ( $o == NULL ) { // Nothing more to do
			$sql = "UPDATE batch SET status='DONE',last_item='',message='',ts_last_change='$ts' WHERE id=$batch_id" ;
			if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
			return true ;
		}

		// load OAuth, if available
		if ( $this->use_user_oauth_for_batch_edits ) {
			$sql = "SELECT serialized FROM {$this->auth_db}.batch_oauth WHERE batch_id=$batch_id" ;
			if($result = $db->query($sql)) {
				$oauth = $result->fetch_object() ;
				if ( $oauth !== NULL ) {
					$oa = unserialize($oauth->serialized, ['allowed_classes' => true]) ;
					if ( $oa === false ) {
						$this->log( "Could not unserialize OAuth information for batch $batch_id:\n".$oauth->serialized );
						$this->use_oauth = false ;
					} else {
						$this->setOA( $oa ) ;
					}
				} else {
					// no OAuth information for this batch – perfectly normal for older batches, don’t log
					$this->use_oauth = false ;
				}
			} else {
				$this->log( "Could not load OAuth information for batch $batch_id \[" . $db->error . ']' );
				$this->use_oauth = false ;
			}
		}

		// Update status
#if ( !isset($o->id) ) print_r ( $o ) ;
		$sql = "UPDATE command SET status='RUN',ts_change='$ts',message='' WHERE id={$o->id}" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;

		// Run command
		$summary = "[[:toollabs:quickstatements/#/batch/{$batch_id}|batch #{$batch_id}]] by [[User:{$this->user_name}|]]" ;
		$cmd = json_decode ( $o->json ) ;
		if ( !isset($cmd->summary) ) $cmd->summary = $summary ;
		else $cmd->summary .= '; ' . $summary ;
#		$this->use_oauth = false ;
		$this->runSingleCommand ( $cmd ) ;

		// Update batch status
		$db = $this->getDB() ;
		$ts = $this->getCurrentTimestamp() ;
		$encoded_last = $db->real_escape_string($this->encodeLastState()) ;
		$sql = "UPDATE batch SET status='RUN',ts_last_change='$ts',last_item='{$encoded_last}' WHERE id=$batch_id AND status IN ('INIT','RUN')" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;

		// Update command status
		$status = strtoupper ( $cmd->status ) ;
		$msg = isset($cmd->message) ? $cmd->message : '' ;
		$sql = "UPDATE command SET status='".$db->real_escape_string($status)."',ts_change='$ts',message='".$db->real_escape_string($msg)."' WHERE id={$o->id}" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;

		// Batch done?
		$sql = "SELECT count(*) AS cnt FROM command WHERE batch_id=$batch_id AND status NOT IN ('ERROR','DONE')" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		$o = $result->fetch_object() ;
		if ( $o->cnt == 0 ) {
			$sql = "UPDATE batch SET status='DONE',last_item='',message='' WHERE id=$batch_id" ;
			if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		}

		return true ;
	}

	public function getToken ( $user_name ) {
		$db = $this->getDB() ;
		$token = '' ;
		$sql = "SELECT * FROM {$this->auth_db}.user WHERE name='" . $db->real_escape_string($user_name) . "'" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) {
			if ( $o->api_hash == '' ) continue ;
			return $o->api_hash ;
		}
		return $token ;
	}

	public function getUserIDfromNameAndToken ( $user_name , $token ) {
		if ( !isset($token) or $token == '' ) return ;

		$db = $this->getDB() ;
		$user_name = trim ( preg_replace ( '/_/' , ' ' , $user_name ) ) ;
		$sql = "SELECT * FROM {$this->auth_db}.user WHERE name='" . $db->real_escape_string($user_name) . "' AND api_hash='" . $db->real_escape_string($token) . "'" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) return $o->id*1 ;
	}

	public function fillOA ( $user_id ) {
		$user_id *= 1 ;
		if ( $user_id == 0 ) return false ; # Not a user
		$oa = $this->getOA() ;
		if ( isset($oa->gTokenKey) and $oa->gTokenKey!='' and isset($oa->gTokenSecret) and $oa->gTokenSecret!='' ) return true ; # Already set

		$db = $this->getDB() ;
		$sql = "SELECT id FROM batch WHERE `user`={$user_id} ORDER BY id DESC LIMIT 1" ;
		if(!$result = $db->query($sql)) return false ;
		$last_batch_id = 0 ;
		while ( $o = $result->fetch_object() ) $last_batch_id = $o->id ;
		if ( $last_batch_id == 0 ) return false ; # No batch

		$db2 = openToolDB ( 'quickstatements_auth' ) ;
		$db2->set_charset("utf8mb4") ;
		$sql = "SELECT * FROM batch_oauth WHERE batch_id={$last_batch_id}" ;
		if(!$result = $db2->query($sql)) return false ;
		$j = '' ;
		while ( $o = $result->fetch_object() ) $j = $o->serialized_json ;
		if ( $j == '' ) return false ; # No OAuth information for the batch
		$j = json_decode($j) ;

		if ( !isset($j->gTokenKey) or !isset($j->gTokenSecret) ) return false ; # No info in JSON
		$oa->gTokenKey = $j->gTokenKey ;
		$oa->gTokenSecret = $j->gTokenSecret ;

		return true ;
	}

	public function generateToken ( $user_name , $force_replace = false ) {
		$user_name = trim ( str_replace ( '_' , ' ' , $user_name ) ) ;

		// Check existing token
		if ( !$force_replace ) {
			$token = $this->getToken ( $user_name ) ;
			if ( $token != '' ) return $token ;
		}

		// None to use, generate new one
		$db = $this->getDB() ;
		$token = password_hash ( random_int(0, PHP_INT_MAX) . $user_name . random_int(0, PHP_INT_MAX) . random_int(0, PHP_INT_MAX) , PASSWORD_DEFAULT ) ;
		$token = substr ( $token , 0 , 60 ) ;

		$id = '' ;
		$un = $db->real_escape_string($user_name) ;
		$sql = "SELECT * FROM {$this->auth_db}.user WHERE name='$un'" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) $id = $o->id ;

		if ( $id == '' ) {
			$sql = "INSERT INTO {$this->auth_db}.user (name,api_hash) VALUES ('$un','$token')" ;
		} else {
			$sql = "UPDATE {$this->auth_db}.user set api_hash='$token' WHERE id=$id" ;
		}
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;



		return $token ;
	}

	// $batches : array of batch_id!
	public function getBatchStatus ( $batches ) {
		$ret = array() ;
		if ( count($batches) == 0 ) return $ret ;
		$db = $this->getDB() ;
		$bl = implode ( ',' , $batches ) ;

		$sql = "SELECT user.name AS user_name,batch.* FROM batch,{$this->auth_db}.user WHERE user.id=batch.user AND batch.id IN ($bl)" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) {
			$batch_id = $o->id ;
			$ret["$batch_id"] = array ( 'batch' => $o , 'commands' => array() ) ;
		}

		$sql = "SELECT batch_id,status,count(*) AS cnt FROM command WHERE batch_id IN ($bl) GROUP BY batch_id,status" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		while ( $o = $result->fetch_object() ) {
			$batch_id = $o->batch_id ;
			$status = $o->status ;
//			print "$batch_id / $status\n" ;
//			if ( !isset($ret->$batch_id->commands) ) $ret->$batch_id->commands = (object) array() ;
			$ret["$batch_id"]['commands'][$status] = $o->cnt ;
		}

		return $ret ;
	}

	public function userChangeBatchStatus ( $batch_id , $new_status ) {
		if ( !$this->canCurrentUserChangeBatchStatus ( $batch_id ) ) return false ;

		$db = $this->getDB() ;
		if ( $new_status != 'STOP' ) { // Always allow user to stop a batch
			$user_name = $this->getUsernameFromBatchID ( $batch_id ) ;
			if ( $user_name == '' ) return $this->setErrorMessage ( "Cannot determine user name for batch #" . $batch_id ) ;
			if ( $this->isUserBlocked ( $user_name ) ) {
				$sql = "UPDATE batch SET status='BLOCKED' WHERE id=$batch_id" ;
				$db->query($sql) ;
				return $this->setErrorMessage ( "User:$user_name is blocked on Wikidata" ) ;
			}
		}

		$sql = "UPDATE batch SET status='" . $db->real_escape_string($new_status) . "',message='Status set by User:" . $db->real_escape_string($this->user_name) . "' WHERE id=$batch_id" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		return true ;
	}




	protected function log ( $data ) {
		if ( !$this->logging ) return ;
		$out = $this->getCurrentTimestamp() . "\t" . json_encode ( $data ) . "\n" ;
		file_put_contents ( $this->config->logfile , $out , FILE_APPEND ) ;
	}

	protected function canCurrentUserChangeBatchStatus ( $batch_id ) {
		if ( false === $this->getCurrentUserID() ) return $this->setErrorMessage ( "Not logged in" ) ;

		$db = $this->getDB() ;
		$sql = "SELECT * FROM batch WHERE id=$batch_id" ;
		if(!$result = $db->query($sql)) return $this->setErrorMessage ( 'There was an error running the query [' . $db->error . ']'."\n$sql" ) ;
		$batch = $result->fetch_object() ;

//		if ( !isset($this->user_id) ) $this->user_id = $this->getCurrentUserID() ;
		if ( $batch->user == $this->user_id ) return true ; // User who submitted the batch

		foreach ( $this->user_groups AS $k => $v ) {
			if ( $v == 'sysop' ) return true ;
		}

		return false ;
	}

	protected function getCurrentTimestamp () {
		return date ( 'YmdHis' ) ;
	}

	protected function setErrorMessage ( $msg ) {
		$this->last_error_message = $msg ;
		return false ;
	}

	protected function ensureCurrentUserInDB () {
		//$db = $this->getDB() ;
		$db2 = openToolDB ( 'quickstatements_auth' ) ;
		$db2->set_charset("utf8mb4") ;
		$sql = "INSERT IGNORE INTO `user` (id,name) VALUES ({$this->user_id},'".$db2->real_escape_string($this->user_name)."')" ;
			if(!$result = $db2->query($sql)) {
				$db2->close() ;
				return $this->setErrorMessage ( 'There was an error running the query [' . $db2->error . ']'."\n$sql" ) ;
			}
			$db2->close() ;
			return true ;
	}

	protected function mergeItems ( $command ) {
		$this->runAction ( [
			'action' => 'wbmergeitems' ,
			'fromid' => $command->item1 ,
			'toid' => $command->item2 ,
			'ignoreconflicts' => 'description' ,
			'summary' => ''
		] , $command ) ;
		if ( $command->status != 'done' ) return $command ;
		if ( !$this->isBatchRun() ) {
			$this->wd->updateItem ( $command->item1 ) ;
			$this->wd->updateItem ( $command->item2 ) ;
		}
		return $command ;
	}

	protected function createNewItem ( $command ) {
		$data = '{}' ;
		if ( isset($command->data) ) $data = json_encode ( $this->array2object ( $command->data ) ) ;
		$this->runAction ( array (
			'action' => 'wbeditentity' ,
			'new' => $command->type ,
			'data' => $data ,
			'summary' => ''
		) , $command ) ;
		if ( $command->status != 'done' ) {
			$this->last_item = '' ; // Ensure subsequent commands will fail
			$this->last_form = '' ;
			$this->last_sense = '' ;
			return $command ;
		}
		$this->last_item = $command->item ;
		$this->last_form = '' ;
		$this->last_sense = '' ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function isProperty ( $p ) {
		if ( !isset($p) ) return false ;
		if ( !preg_match ( '/^[P]\d+$/i' , $p ) ) return false ;
		return true ;
	}

	protected function getStatementID ( $command ) {
		if ( !$this->isProperty ( $command->property ) ) return ;
		if ( !isset($command->datavalue) ) return ;
		if ( isset($command->new_statement) and $command->new_statement ) return ;
		$q = $command->item ;

		$this->wd->loadItem ( $q ) ;
		if ( !$this->wd->hasItem($q) ) return ;
		$i = $this->wd->getItem ( $q ) ;
		$claims = $i->getClaims ( $command->property ) ;
		$last_claim_id = null ;
		foreach ( $claims AS $c ) {
			// when snaktype is somevalue/novalue, $c->mainsnak->datavalue doesn't exist (since the value is unknown or not existing)
			if ( $c->mainsnak->snaktype === "somevalue" || $c->mainsnak->snaktype === "novalue" ) {

				$lackingValueType = $c->mainsnak->snaktype ;
				if ( $lackingValueType === $command->datavalue->type ) $last_claim_id = $c->id ; // return $c->id ;

			} else {

				if ( !isset($c->mainsnak) or !isset($c->mainsnak->datavalue) ) continue ;
				if ( !isset($command->datavalue) ) continue ;
				if ( $this->compareDatavalue ( $c->mainsnak->datavalue , $command->datavalue ) ) $last_claim_id = $c->id ; // return $c->id ;

			}
		}
		return $last_claim_id ;
	}

	// Return true if both datavalues are the same (for any given value of same...), or false otherwise
	protected function compareDatavalue ( $d1 , $d2 ) {
		if ( $d1->type != $d2->type ) return false ;
		if ( $d1->type == 'string' ) {
			if ( !function_exists('normalizer_normalize') ) return $d1->value == $d2->value ;
			$value1 = normalizer_normalize($d1->value,Normalizer::FORM_D);
			$value2 = normalizer_normalize($d2->value,Normalizer::FORM_D);
			return $value1 == $value2;
		}
		if ( $d1->type == 'quantity' ) return $d1->value->amount*1 == $d2->value->amount*1 ;
		if ( $d1->type == 'time' ) {
			if ( $d1->value->calendarmodel != $d2->value->calendarmodel ) return false ;
			if ( $d1->value->precision != $d2->value->precision) return false ;
			# The Leading Zeroes Dance
			$t1 = preg_replace('/^([+-]{0,1})0*(.+)$/','$1$2',$d1->value->time) ;
			$t2 = preg_replace('/^([+-]{0,1})0*(.+)$/','$1$2',$d2->value->time) ;
			if ( $t1 != $t2 ) return false ;
			return true ;
		}
		if ( $d1->type == 'globecoordinate' ) return $d1->value->latitude == $d2->value->latitude and $d1->value->longitude == $d2->value->longitude and $d1->value->globe == $d2->value->globe ;
		if ( $d1->type == 'monolingualtext' ) return $d1->value->text == $d2->value->text and $d1->value->language == $d2->value->language ;

		$et = 'entity-type' ;
		$nid = 'numeric-id' ;
		if ( $d1->type == 'wikibase-entityid' ) {
			if ( $d1->value->$et != $d2->value->$et ) return false ;
			if ( isset($d1->value->$nid) and isset($d2->value->$nid) AND $d1->value->$nid==$d2->value->$nid ) return true ;
			if ( isset($d1->value->id) and isset($d2->value->id) AND $d1->value->id==$d2->value->id ) return true ;
			return false ;
		}

		return false ; // Can't determine type
	}

	public function compressCommands ( $commands ) {
		if ( !$this->use_command_compression ) return $commands ;
		if ( count($commands) < 2 ) return $commands ; // Nothing to do

		$out = array ( $commands[0] ) ;
		for ( $pos = 1 ; $pos < count($commands) ; $pos++ ) {
			if ( $commands[$pos] == 'SKIP' ) continue ;
			if ( $out[count($out)-1]['action'] == 'create' and $out[count($out)-1]['type'] == 'item' and $commands[$pos]['action'] == 'add'  and strtolower($commands[$pos]['item']) == 'last' ) {
				if ( !isset($out[count($out)-1]['data']) ) $out[count($out)-1]['data'] = array() ;
				if ( $commands[$pos]['what'] == 'label' ) {
					$lang = $commands[$pos]['language'] ;
					$out[count($out)-1]['data']['labels'][$lang] = array ( 'language' => $lang , 'value' => $commands[$pos]['value'] ) ;
				} else if ( $commands[$pos]['what'] == 'description' ) {
					$lang = $commands[$pos]['language'] ;
					$out[count($out)-1]['data']['descriptions'][$lang] = array ( 'language' => $lang , 'value' => $commands[$pos]['value'] ) ;
				} else if ( $commands[$pos]['what'] == 'alias' ) {
					$lang = $commands[$pos]['language'] ;
					$out[count($out)-1]['data']['aliases'][$lang][] = array ( 'language' => $lang , 'value' => $commands[$pos]['value'] ) ;
				} else if ( $commands[$pos]['what'] == 'sitelink' ) {
					$site = $commands[$pos]['site'] ;
					$out[count($out)-1]['data']['sitelinks'][$site] = array ( 'site' => $site , 'title' => $commands[$pos]['value'] ) ;

				} else if ( $commands[$pos]['what'] == 'statement' and isset($commands[$pos]['datavalue']) ) {

					$claim = array (
						'mainsnak' => array (
							'snaktype' => 'value' ,
							'property' => $commands[$pos]['property'] ,
							'datavalue' => $commands[$pos]['datavalue'],
							'new_statement' => $commands[$pos]['new_statement']
						) ,
						'type' => 'statement' ,
						'rank' => 'normal'
					) ;

					// BEGIN sources and qualifiers
					$pos2 = $pos+1 ;
					while ( $pos2 < count($commands)
						and $commands[$pos2]['action'] == 'add'
						and strtolower($commands[$pos2]['item']) == 'last'
						and in_array($commands[$pos2]['what'],array('qualifier','sources'))
						and $commands[$pos2]['property'] == $commands[$pos]['property']
						and isset ( $commands[$pos2]['datavalue'] )
						and serialize($commands[$pos2]['datavalue']) == serialize($claim['mainsnak']['datavalue'])
						) {

						if ( $commands[$pos2]['what'] == 'sources' ) {
							if ( !isset($claim['references']) ) $claim['references'] = [] ;

							$refs = ['snaks'=>[]] ;
							foreach ( $commands[$pos2]['sources'] AS $s ) {
								if ( isset($s['new_source_group']) ) {
									# Create new reference group
									if ( count($refs['snaks'])>0 ) {
										$claim['references'][] = $refs ;
										$refs = ['snaks'=>[]] ;
									}
								}
								$source = [
									'snaktype' => 'value' ,
									'property' => $s['prop'] ,
									'datavalue' => $s['value']
								] ;
								$refs['snaks'][$s['prop']][] = $source ;
							}

							$claim['references'][] = $refs ;
						} else if ( $commands[$pos2]['what'] == 'qualifier' ) {
							$qual = [
								'property' => $commands[$pos2]['qualifier']['prop'] ,
								'snaktype' => 'value' ,
								'datavalue' => $commands[$pos2]['qualifier']['value']
							] ;
							$claim['qualifiers'][] = $qual ;
						}

						$commands[$pos2] = 'SKIP' ;
						$pos2++ ;
					}
					// END sources and qualifiers

					$out[count($out)-1]['data']['claims'][] = $claim ;

				} else {
					$out[] = $commands[$pos] ;
				}
			} else {
				$out[] = $commands[$pos] ;
			}
		}

		return $out ;
	}

	public function setSite ( $new_site ) {
		if ( trim($new_site) == '' ) return true ;
		if ( $this->config->site == $new_site ) return true ; // All is well
		if ( !isset($this->config->sites->$new_site ) ) return $this->setErrorMessage ( "Site '{$new_site}' not in config file" ) ;

		global $wikidata_api_url ;
		$this->config->site = $new_site ;
		$wikidata_api_url = $this->getSite()->api ;
		$this->wd = new WikidataItemList () ;
		return true ;
	}

	protected function getSite () {
		$site = $this->config->site ;
		return $this->config->sites->$site ;
	}

	protected function getBotConfig () {
		if ( $this->bot_config_file != '' ) return parse_ini_file ( $this->bot_config_file ) ;
		return parse_ini_file ( $this->config->bot_config_file ) ;
	}

	protected function getBotAPI ( $force_login = false ) {
		if ( $this->bot_api === null and self::$global_bot_api !== null ) $this->bot_api = self::$global_bot_api ;
		if ( !$force_login and $this->bot_api !== null and $this->bot_api->isLoggedIn() ) return $this->bot_api ;

		$bot_config = $this->getBotConfig() ;
		$api = new \Mediawiki\Api\MediawikiApi( $this->getAPI() );
		if ( $force_login or !$api->isLoggedin() ) {
			if ( isset($bot_config['user']) ) $username = $bot_config['user'] ;
			if ( isset($bot_config['username']) ) $username = $bot_config['username'] ;
			if ( isset($bot_config['pass']) ) $password = $bot_config['pass'] ;
			if ( isset($bot_config['password']) ) $password = $bot_config['password'] ;
			if ( !isset($username) or !isset($password) ) return false ;
			$x = $api->login( new \Mediawiki\Api\ApiUser( $username, $password ) );
			if ( !$x ) return false ;
		}
		if ( self::$global_bot_api === null ) self::$global_bot_api = $api ;
		$this->bot_api = $api ;
		return $api ;

	}

	public function runBotAction ( $params_orig , $attempts_left = 10 , $lag = 0 ) {
		if ( $attempts_left <= 0 ) return false ;
		if ( $lag == 0 ) $lag = $this->maxlag ;
		$params = array() ;
		foreach ( $params_orig AS $k => $v ) $params[$k] = $v ; // Copy to array, and for safekeeping original
		$this->last_result = (object) array() ;
		if ( !isset($params['action']) ) return false ;
		$action = $params['action'] ;
		unset ( $params['action'] ) ;

		$params['bot'] = 1 ;
		$params['maxlag'] = intval($lag) ;
		if ( $this->debugging ) print "\nTRYING WITH MAXLAG {$lag}\n" ;

		$api = $this->getBotAPI() ;
		$params['token'] = $api->getToken() ;

		try {
			$x = $api->postRequest( new \Mediawiki\Api\SimpleRequest( $action, $params ) );
			if ( isset($x) ) {
				$ret = json_decode ( json_encode ( $x ) ) ; // Casting to object
				if ( $this->debugging ) {
					print "\n=== RET\n" ;
					print_r ( $ret ) ;
				}
				if ( isset($ret->error) and isset($ret->error->code) ) {
					#print "ERROR: {$ret->error->code}\n" ;
				}
				if ( isset($ret->error) and isset($ret->error->code) and $ret->error->code == 'maxlag' ) {
					if ( isset($ret->error->lag) ) $lag = $ret->error->lag*1 + $lag ;
					sleep ( $lag ) ;
					return $this->runBotAction ( $params_orig , $attempts_left-1 , $lag ) ;
				} else {
					$this->last_result = $ret ;
				}
			} else {
//				return false ; // TODO is that correct?
			}
		} catch (Exception $e) {
			$msg = $e->getMessage() ;
			if ( $this->debugging ) print "\n=== EXCEPTION : {$msg}\n" ;
			if ( $msg == 'The save has failed.' ) {
				sleep ( 2 ) ;
				return $this->runBotAction ( $params_orig , $attempts_left-1 ) ;
			}
			# This should have been handled above but postRequest just throws an exception instead of returning the errror
			if ( preg_match ( '|([0-9.]+) seconds lagged|' , $msg , $m ) ) {
				$lag = $m[1]*1 + $lag ;
				if ( $this->debugging ) print "SLEEPING {$lag} sec...\n" ;
				sleep ( $lag ) ;
				return $this->runBotAction ( $params_orig , $attempts_left-1 , $lag ) ;
			}
			if ( preg_match ( '|The database has been automatically locked while the slave database servers catch up to the master|' , $msg ) ) {
				sleep ( 30 ) ;
				return $this->runBotAction ( $params_orig , $attempts_left-1 ) ;
			}
			$this->last_result->error = (object) [ 'info' => $msg ] ;
			return false ;
		}
		return true ;
	}

	protected function runAction ( $params , &$command , $maxlag_retries_left = 10 ) {
		$params = (object) $params ;
		if ( !isset($params->summary) or $params->summary === '' ) {
			$summary = '#quickstatements' ;
			if ( isset($command->summary) and $command->summary != '' ) $summary .= "; " . $command->summary ;
			if ( $this->toolname != '' ) $summary .= "; invoked by " . $this->toolname ;
			$params->summary = $summary ;
		}
		$params->bot = 1 ;
		$params->maxlag = $this->maxlag ;

		$result = (object) array() ;
		$status = false ;
		if ( $this->use_oauth ) {
			$oa = $this->getOA() ;
			$status = $oa->genericAction ( $params ) ;
			$this->log ( array ( $params , $status ) ) ;
			if ( isset($oa->last_res) ) $result = $oa->last_res ;

			// Retry on maxlag error (T421642)
			if ( !$status and isset($result->error) and isset($result->error->code) and $result->error->code === 'maxlag' ) {
				if ( $maxlag_retries_left > 0 ) {
					$wait = isset($result->error->lag) ? intval($result->error->lag) + $this->maxlag : $this->maxlag ;
					if ( $wait < 5 ) $wait = 5 ;
					sleep ( $wait ) ;
					return $this->runAction ( $params , $command , $maxlag_retries_left - 1 ) ;
				}
				// Out of retries — fall through to normal error handling
			}
		} else {
			$status = $this->runBotAction ( $params ) ;
			if ( isset($this->last_result) ) $result = $this->last_result ;
		}

		$command->run = $params ; // DEBUGGING INFO
		if ( $status ) {
			$command->status = 'done' ;
			if ( $params->action == 'wbeditentity' and isset($params->new) ) {
				$command->item = $result->entity->id ; // "Last item"
			}
			if ( $params->action == 'wbladdform' and isset($result->form) ) {
				$command->item = $result->form->id ;
			}
			if ( $params->action == 'wbladdsense' and isset($result->sense) ) {
				$command->item = $result->sense->id ;
			}
		} else {
			/*
			if ( $this->debugging ) {
				print "\n==== PARAMS\n" ;
				print "API: " . $this->getAPI() . "\n" ;
				print_r ( $params ) ;
				print "==== RESULT\n" ;
				print_r ( $result ) ;
				print "====\n" ;
			}
			*/
			$command->status = 'error' ;
			$encoded_result = isset($result) ? json_encode($result) : false ;
			if ( !isset($result) or $result === null or $result == '' or $encoded_result === false or $encoded_result == '{}' or $encoded_result == '[]' ) {
				$command->message = 'Could not complete the command. No error details were returned.' ;
			} else if ( isset($result->error) and isset($result->error->info) ) {
				if ( $this->retry_on_database_lock and $result->error->info == 'The database has been automatically locked while the slave database servers catch up to the master' ) {
					$command->status = '' ;
					sleep ( 3 ) ;
					$this->runAction ( $params , $command ) ;
					return ;
				}
				$command->message = $result->error->info ;
				if ( preg_match ( '/Invalid CSRF token/' , $result->error->info ) ) {
					self::$global_bot_api = null ;
					$this->bot_api = null ;
					$this->getBotAPI ( true ) ;
				}
			} else $command->message = $encoded_result ;
		}
	}

	protected function getDatatypeForProperty ( $property ) {
		$this->wd->loadItem ( $property ) ;
		if ( !$this->wd->hasItem($property) ) return ;
		$i = $this->wd->getItem ( $property ) ;
		return $i->j->datatype ;
	}

	protected function commandError ( $command , $message ) {
		$command->status = 'error' ;
		if ( isset($message) and $message != '' ) $command->message = $message ;
		return $command ;
	}

	protected function commandDone ( $command , $message ) {
		$command->status = 'done' ;
		if ( isset($message) and $message != '' ) $command->message = $message ;
		return $command ;
	}

	protected function getSnakType ( $datavalue ) {
		if ( $datavalue->value == 'novalue' || $datavalue->value == 'somevalue' ) {
			return $datavalue->value ;
		}
		return 'value' ;
	}

	protected function commandAddStatement ( $command , $i , $statement_id ) {
		// Paranoia
		if ( isset($statement_id) ) return $this->commandDone ( $command , "Statement already exists as $statement_id" ) ;
		if ( !isset($command->datavalue->value) ) return $this->commandError ( $command, "Incomplete command parameters" ) ;

		// Execute!
		$action = array (
			'action' => 'wbcreateclaim' ,
			'entity' => $command->item ,
			'snaktype' => $this->getSnakType ( $command->datavalue ) ,
			'property' => $command->property ,
			'value' => json_encode ( $command->datavalue->value ) ,
			'summary' => ''
		) ;
		if ( isset($i->j) and isset($i->j->lastrevid) ) {
			$action['baserevid'] = $i->j->lastrevid ;
		}
		if ( $action['snaktype'] != 'value' ) unset( $action['value'] );
		$this->runAction ( $action , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandAddQualifier ( $command , $i , $statement_id ) {
		// Paranoia
		if ( !isset($command->qualifier) ) return $this->commandError ( $command , "Incomplete command parameters" ) ;
		if ( !isset($command->qualifier->prop) ) return $this->commandError ( $command , "Incomplete command parameters" ) ;
		if ( !preg_match ( '/^P\d+$/' , $command->qualifier->prop ) ) return $this->commandError ( $command , "Invalid qualifier property {$command->qualifier->prop}" ) ;
		if ( !isset($command->qualifier->value->value) ) return $this->commandError ( $command, "Incomplete command parameters" ) ;
		$matching_qualifier_hash = $this->findMatchingQualifierHash ( $i , $statement_id , $command->qualifier ) ;
		if ( $matching_qualifier_hash !== null ) {
			return $this->commandDone ( $command , "The statement already has a qualifier with hash $matching_qualifier_hash" ) ;
		}

		// Execute!
		$action = array (
			'action' => 'wbsetqualifier' ,
			'claim' => $statement_id ,
			'property' => $command->qualifier->prop ,
			'value' => json_encode ( $command->qualifier->value->value ) ,
			'snaktype' => $this->getSnakType ( $command->qualifier->value ) ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) ;
		if ( $action['snaktype'] != 'value' ) unset( $action['value'] );
		$this->runAction ( $action , $command ) ;
		if ( $command->status == 'error' and preg_match ( '/The statement has already a qualifier/' , $command->message ) ) $command->status = 'done' ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function findMatchingQualifierHash ( $i , $statement_id , $qualifier ) {
		if ( !isset($i->j->claims) or !isset($qualifier->prop) or !isset($qualifier->value) ) return null ;
		foreach ( $i->j->claims AS $claims ) {
			foreach ( $claims AS $claim ) {
				if ( !isset($claim->id) or $claim->id != $statement_id ) continue ;
				if ( !isset($claim->qualifiers) or !isset($claim->qualifiers->{$qualifier->prop}) ) return null ;
				foreach ( $claim->qualifiers->{$qualifier->prop} AS $existing_qualifier ) {
					if ( !isset($existing_qualifier->snaktype) ) continue ;
					if ( $existing_qualifier->snaktype != $this->getSnakType($qualifier->value) ) continue ;
					if ( $existing_qualifier->snaktype == 'value' ) {
						if ( !isset($existing_qualifier->datavalue) ) continue ;
						if ( !$this->compareDatavalue($existing_qualifier->datavalue,$qualifier->value) ) continue ;
					}
					return isset($existing_qualifier->hash) ? $existing_qualifier->hash : '' ;
				}
				return null ;
			}
		}
		return null ;
	}

	protected function findMatchingReferenceHash ( $i , $statement_id , $snaks ) {
		if ( !isset($i->j->claims) ) return null ;
		foreach ( $i->j->claims AS $claims ) {
			foreach ( $claims AS $claim ) {
				if ( !isset($claim->id) or $claim->id != $statement_id ) continue ;
				if ( !isset($claim->references) ) return null ;
				foreach ( $claim->references AS $reference ) {
					if ( !isset($reference->snaks) ) continue ;
					if ( $this->referenceSnaksMatch($reference->snaks,$snaks) ) {
						return isset($reference->hash) ? $reference->hash : '' ;
					}
				}
				return null ;
			}
		}
		return null ;
	}

	protected function referenceSnaksMatch ( $existing_snaks , $wanted_snaks ) {
		$existing_snaks = (array) $existing_snaks ;
		$wanted_snaks = (array) $wanted_snaks ;
		$existing_properties = array_keys($existing_snaks) ;
		$wanted_properties = array_keys($wanted_snaks) ;
		sort($existing_properties) ;
		sort($wanted_properties) ;
		if ( $existing_properties != $wanted_properties ) return false ;

		foreach ( $wanted_properties AS $property ) {
			$existing = array_values((array) $existing_snaks[$property]) ;
			$wanted = array_values((array) $wanted_snaks[$property]) ;
			if ( count($existing) != count($wanted) ) return false ;
			$used = array() ;
			foreach ( $wanted AS $wanted_snak ) {
				$wanted_snak = (object) $wanted_snak ;
				$found = false ;
				foreach ( $existing AS $index => $existing_snak ) {
					if ( isset($used[$index]) ) continue ;
					$existing_snak = (object) $existing_snak ;
					if ( !isset($existing_snak->snaktype) or !isset($wanted_snak->snaktype) ) continue ;
					if ( $existing_snak->snaktype != $wanted_snak->snaktype ) continue ;
					if ( $wanted_snak->snaktype == 'value' ) {
						if ( !isset($existing_snak->datavalue) or !isset($wanted_snak->datavalue) ) continue ;
						if ( !$this->compareDatavalue($existing_snak->datavalue,$wanted_snak->datavalue) ) continue ;
					}
					$used[$index] = true ;
					$found = true ;
					break ;
				}
				if ( !$found ) return false ;
			}
		}
		return true ;
	}

	protected function commandAddSources ( $command , $i , $statement_id ) {
		// Paranoia
		if ( !isset($command->sources) ) return $this->commandError ( $command , "Incomplete command parameters" ) ;
		if ( count($command->sources) == 0 ) return $this->commandError ( $command , "No sources to add" ) ;

		// Prep
		$snaks = array() ;
		foreach ( $command->sources AS $source ) {
			if ( !isset($source->value->value) ) return $this->commandError ( $command, "Incomplete command parameters" ) ;
			$s = array(
				'snaktype' => $this->getSnakType ( $source->value ) ,
				'property' => $source->prop ,
				'datavalue' => $source->value
			) ;
			if ( $s['snaktype'] != 'value' ) unset( $s['datavalue'] ) ;
			$snaks[$source->prop][] = $s ;
		}
		$matching_reference_hash = $this->findMatchingReferenceHash ( $i , $statement_id , $snaks ) ;
		if ( $matching_reference_hash !== null ) {
			return $this->commandDone ( $command , "The statement already has a reference with hash $matching_reference_hash" ) ;
		}

		// Execute!
		$this->runAction ( array (
			'action' => 'wbsetreference' ,
			'statement' => $statement_id ,
			'snaks' => json_encode ( $snaks ) ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandSetLabel ( $command , $i ) {
		// Paranoia
		if ( $i->getLabel ( $command->language , true ) == $command->value ) return $this->commandDone ( $command , "Already has that label for {$command->language}" ) ;

		// Execute!
		$this->runAction ( array (
			'action' => 'wbsetlabel' ,
			'id' => $command->item ,
			'language' => $command->language ,
			'value' => $command->value ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandAddAlias ( $command , $i ) {
		// Paranoia TODO

		// Execute!
		$this->runAction ( array (
			'action' => 'wbsetaliases' ,
			'id' => $command->item ,
			'language' => $command->language ,
			'add' => $command->value ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandRemoveAlias ( $command , $i ) {
		// Paranoia TODO

		// Execute!
		$this->runAction ( array (
			'action' => 'wbsetaliases' ,
			'id' => $command->item ,
			'language' => $command->language ,
			'remove' => $command->value ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandSetDescription ( $command , $i ) {
		// Paranoia
		if ( $i->getDesc ( $command->language , true ) == $command->value ) return $this->commandDone ( $command , "Already has that description for {$command->language}" ) ;

		// Execute!
		$this->runAction ( array (
			'action' => 'wbsetdescription' ,
			'id' => $command->item ,
			'language' => $command->language ,
			'value' => $command->value ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandSetSitelink ( $command , $i ) {
		// Paranoia
		$sl = $i->getSitelink ( $command->site ) ;
		if ( isset($sl) and str_replace(' ','_',$sl) == str_replace(' ','_',$command->value) ) return $this->commandDone ( $command , "Already has that sitelink for {$command->site}" ) ;

		// Execute!
		$this->runAction ( array (
			'action' => 'wbsetsitelink' ,
			'id' => $command->item ,
			'linksite' => $command->site ,
			'linktitle' => $command->value ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandRemoveStatement ( $command ) {
		$id = $command->id ;
		$q = strtoupper ( preg_replace ( '/\$.*$/' , '' , $id ) ) ;
		$i = $this->wd->getItem ( $q ) ;

		// Execute!
		$this->runAction ( array (
			'action' => 'wbremoveclaims' ,
			'claim' => $id ,
			'summary' => '' ,
			'baserevid' => $i->j->lastrevid
		) , $command ) ;
		if ( !$this->isBatchRun() ) $this->wd->updateItem ( $command->item ) ;
		return $command ;
	}

	protected function commandRemoveSitelink ( $command, $i ) {
		$command->value = '';
		return $this->commandSetSitelink ( $command, $i );
	}

	protected function createNewForm ( $command ) {
		$q = trim($command->item) ;
		if ( $this->isLastKeyword(strtoupper($q)) ) $q = $this->resolveLastKeyword($q) ;
		if ( $q == '' ) {
			$this->last_item = '' ;
			return $this->commandError ( $command , 'No last item available' ) ;
		}
		$lexeme_id = $q ; // Remember the lexeme ID before runAction overwrites $command->item
		$command->item = $q ;
		$data = '{}' ;
		if ( isset($command->data) ) $data = json_encode ( $this->array2object ( $command->data ) ) ;
		$this->runAction ( array (
			'action' => 'wbladdform' ,
			'lexemeId' => $q ,
			'data' => $data ,
			'summary' => ''
		) , $command ) ;
		if ( $command->status != 'done' ) {
			$this->last_item = '' ;
			return $command ;
		}
		// Keep LAST pointing at the lexeme; record the form in last_form.
		$this->last_item = $lexeme_id ;
		$this->last_form = $command->item ;
		return $command ;
	}

	protected function createNewSense ( $command ) {
		$q = trim($command->item) ;
		if ( $this->isLastKeyword(strtoupper($q)) ) $q = $this->resolveLastKeyword($q) ;
		if ( $q == '' ) {
			$this->last_item = '' ;
			return $this->commandError ( $command , 'No last item available' ) ;
		}
		$lexeme_id = $q ; // Remember the lexeme ID before runAction overwrites $command->item
		$command->item = $q ;
		$data = '{}' ;
		if ( isset($command->data) ) $data = json_encode ( $this->array2object ( $command->data ) ) ;
		$this->runAction ( array (
			'action' => 'wbladdsense' ,
			'lexemeId' => $q ,
			'data' => $data ,
			'summary' => ''
		) , $command ) ;
		if ( $command->status != 'done' ) {
			$this->last_item = '' ;
			return $command ;
		}
		// Keep LAST pointing at the lexeme; record the sense in last_sense.
		$this->last_item = $lexeme_id ;
		$this->last_sense = $command->item ;
		return $command ;
	}

	protected function commandSetLemma ( $command ) {
		$data = array ( 'lemmas' => array (
			$command->language => array ( 'language' => $command->language , 'value' => $command->value )
		) ) ;
		$this->runAction ( array (
			'action' => 'wbeditentity' ,
			'id' => $command->item ,
			'data' => json_encode ( $data ) ,
			'summary' => ''
		) , $command ) ;
		return $command ;
	}

	protected function commandSetLexicalCategory ( $command ) {
		$data = array ( 'lexicalCategory' => $command->value ) ;
		$this->runAction ( array (
			'action' => 'wbeditentity' ,
			'id' => $command->item ,
			'data' => json_encode ( $data ) ,
			'summary' => ''
		) , $command ) ;
		return $command ;
	}

	protected function commandSetLexemeLanguage ( $command ) {
		$data = array ( 'language' => $command->value ) ;
		$this->runAction ( array (
			'action' => 'wbeditentity' ,
			'id' => $command->item ,
			'data' => json_encode ( $data ) ,
			'summary' => ''
		) , $command ) ;
		return $command ;
	}

	protected function commandSetRepresentation ( $command ) {
		$data = array ( 'representations' => array (
			$command->language => array ( 'language' => $command->language , 'value' => $command->value )
		) ) ;
		$this->runAction ( array (
			'action' => 'wbleditformelements' ,
			'formId' => $command->item ,
			'data' => json_encode ( $data ) ,
			'summary' => ''
		) , $command ) ;
		return $command ;
	}

	protected function commandSetGrammaticalFeature ( $command ) {
		$data = array ( 'grammaticalFeatures' => $command->value ) ;
		$this->runAction ( array (
			'action' => 'wbleditformelements' ,
			'formId' => $command->item ,
			'data' => json_encode ( $data ) ,
			'summary' => ''
		) , $command ) ;
		return $command ;
	}

	protected function commandSetGloss ( $command ) {
		$data = array ( 'glosses' => array (
			$command->language => array ( 'language' => $command->language , 'value' => $command->value )
		) ) ;
		$this->runAction ( array (
			'action' => 'wbleditsenseelements' ,
			'senseId' => $command->item ,
			'data' => json_encode ( $data ) ,
			'summary' => ''
		) , $command ) ;
		return $command ;
	}

	public function array2object_recursive($array) {
		$obj = new stdClass;
		foreach($array as $k => $v) {
			if(strlen($k)) {
				if(is_array($v)) {
					$obj->{$k} = $this->array2object_recursive($v); //RECURSION
				} else {
					$obj->{$k} = $v;
				}
				}
		}
		return $obj;
	}

	public function array2object ( $a ) {
		$ret = json_decode ( json_encode ( $a ) ) ;
		if ( isset($ret) ) return $ret ;
		return $this->array2object_recursive ( $a ) ;
	}

	public function runCommandArray ( $commands ) {
		if ( $this->use_command_compression ) $commands = $this->compressCommands ( $commands ) ;
		$this->is_batch_run = true ;
		foreach ( $commands AS $command_original ) {
			$command = $this->array2object ( $command_original ) ;
			$command = $this->runSingleCommand ( $command ) ;
			if ( $command->status != 'done' and $this->verbose ) {
				print "<pre>" ; print_r ( $command ) ; print "</pre>" ;
			}
			// TODO proper error handling
			if ( isset($command->item) ) $this->wd->updateItem ( $command->item ) ;
		}
		$this->is_batch_run = false ;
	}

	public function getTemporaryBatchSummary () {
		return "[[:toollabs:editgroups/b/CB/{$this->temporary_batch_id}|details]]" ;
	}

	public function runSingleCommand ( $command ) {
                if ( $this->sleep != 0 ) usleep ( (int)($this->sleep * 1000000) ) ;
		if ( !isset($command) ) return $this->commandError ( $command , "Empty command" ) ;
		$command->status = 'working' ;
		if ( isset($command->error) ) unset ( $command->error ) ;
		if ( isset($this->temporary_batch_id) ) {
			if ( isset($command->summary) ) $command->summary .= ' ' . $this->getTemporaryBatchSummary() ;
			else $command->summary = $this->getTemporaryBatchSummary() ;
		}

		if ( $command->action == 'create' ) {
			if ( isset($command->type) and $command->type == 'form' ) return $this->createNewForm ( $command ) ;
			if ( isset($command->type) and $command->type == 'sense' ) return $this->createNewSense ( $command ) ;
			return $this->createNewItem ( $command ) ;
		} else if ( $command->action == 'merge' ) {
			return $this->mergeItems ( $command ) ;
		} else {

			// Prepare
			if ( !isset($command->item) and isset($command->id) and $command->what == 'statement' ) $command->item = strtoupper ( preg_replace ( '/\$.+$/' , '' , $command->id ) ) ;
			$q = trim($command->item) ;
			if ( $this->isLastKeyword(strtoupper($q)) ) $q = $this->resolveLastKeyword($q) ;
			if ( $q == '' ) return $this->commandError ( $command , 'No last item available [' . $command->item . ']' ) ;
			$command->item = $q ;

			// Lexeme-specific operations that use the API directly
			if ( $command->action == 'add' ) {
				if ( $command->what == 'lemma' ) return $this->commandSetLemma ( $command ) ;
				if ( $command->what == 'lexical_category' ) return $this->commandSetLexicalCategory ( $command ) ;
				if ( $command->what == 'language' ) return $this->commandSetLexemeLanguage ( $command ) ;
				if ( $command->what == 'representation' ) return $this->commandSetRepresentation ( $command ) ;
				if ( $command->what == 'grammatical_feature' ) return $this->commandSetGrammaticalFeature ( $command ) ;
				if ( $command->what == 'gloss' ) return $this->commandSetGloss ( $command ) ;
			}

			$to_load = [ $q ] ;
			if ( isset($command->property) and $this->isProperty($command->property) ) $to_load[] = $command->property ;
			$this->wd->loadItems ( $to_load ) ;
			if ( !$this->wd->hasItem($q) ) return $this->commandError ( $command , "Could not load item $q" ) ;
			$i = $this->wd->getItem ( $q ) ;

			if ( $command->action == 'add' ) {

				// Do it
				if ( $command->what == 'label' ) return $this->commandSetLabel ( $command , $i ) ;
				if ( $command->what == 'alias' ) return $this->commandAddAlias ( $command , $i ) ;
				if ( $command->what == 'description' ) return $this->commandSetDescription ( $command , $i ) ;
				if ( $command->what == 'sitelink' ) return $this->commandSetSitelink ( $command , $i ) ;

				if ( ! $this->propagateLastItem ( $command ) ) {
					return $this->commandError( $command, "No last item available" );
				}

				$statement_id = $this->getStatementID ( $command ) ;
				if ( $command->what == 'statement' ) return $this->commandAddStatement ( $command , $i , $statement_id ) ;

				// THE FOLLOWING DEPEND ON AN EXISTING STATEMENT
				if ( !isset($statement_id) ) return $this->commandError ( $command , "Base statement not found" ) ;
				if ( $command->what == 'qualifier' ) return $this->commandAddQualifier ( $command , $i , $statement_id ) ;
				if ( $command->what == 'sources' ) return $this->commandAddSources ( $command , $i , $statement_id ) ;

			} else if ( $command->action == 'remove' ) {

				if ( $command->what == 'statement' ) {
					if ( !isset($command->id) ) $command->id = $this->getStatementID ( $command ) ;
					if ( !isset($command->id) or $command->id == '' ) return $this->commandError ( $command , "Base statement not found" ) ;
					return $this->commandRemoveStatement ( $command ) ;
				} else if ( $command->what == 'sitelink' ) {
					return $this->commandRemoveSitelink ( $command, $i ) ;
				}else if ( $command->what == 'alias' ) {
					return $this->commandRemoveAlias ( $command, $i ) ;
				}

			}

		}
		return $this->commandError( $command, "Incomplete or unknown command" );
	}


	protected function propagateLastItem ( $command ) {
		$values = [ $command->datavalue ];
		if ( isset($command->qualifier->value) ) {
			$values[] = $command->qualifier->value ;
		}
		if ( isset($command->sources) ) {
			foreach ( $command->sources as $source ) {
				$values[] = $source->value;
			}
		}

		foreach ( $values as $value ) {
			if ( isset ( $value->type ) && $value->type === 'wikibase-entityid' && $this->isLastKeyword( strtoupper( $value->value->id ) ) ) {
				$resolved = $this->resolveLastKeyword( $value->value->id ) ;
				if ( !$resolved ) {
					return false ;
				}
				$value->value->id = $resolved ;
			}
		}

		return true ;
	}


	protected function importDataFromV1 ( $data , &$ret ) {
		$ret['data']['commands'] = array() ;
		if ( strpos ( $data , "\n" ) === false ) $data = str_replace ( '||' , "\n" , $data ) ;
		$rows = explode ( "\n" , $data ) ;
		foreach ( $rows as $row ) {
			$row = trim ( $row ) ;
			if ( strpos ( $row , "\t" ) === false ) $row = str_replace ( '|' , "\t" , $row ) ;
			$comment = '' ;
			if ( preg_match ( '/^(.*?) *\/\* *(.*?) *\*\/ *$/' , $row , $m ) ) { // Extract comment as summary
				$comment = $m[2] ;
				$row = $m[1] ;
			}
			$cols = explode ( "\t" , $row ) ;
			// An empty label/description/alias/sitelink value (e.g. "LAST|Dcs|") produces a "|||" sequence when
			// commands are joined with "||". The command separator replacement then mis-splits it and leaves a
			// stray empty leading column on the following command, which would otherwise be silently dropped.
			while ( count($cols) > 1 and trim($cols[0]) === '' ) array_shift ( $cols ) ;
			$cmd = array() ;
			$skip_add_command = false ;
			$action = 'add' ;
			if ( count($cols)>0 and preg_match('/^-(.+)$/',$cols[0],$m) ) {
				$action = 'remove' ;
				$cols[0] = $m[1] ;
			}
			$first = strtoupper(trim($cols[0])) ;
			if ( count ( $cols ) >= 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and ( $this->isValidItemIdentifier($cols[1]) or preg_match ( '/^(!P)(\d+)$/i' , $cols[1] ) ) ) {
        			$prop = strtoupper(trim($cols[1])) ;
	        		$is_new_statement = 0 ;
        			if ( $prop[0] == '!') {
	        		        $is_new_statement = 1 ;
		        	        $prop = substr($prop, 1) ;
        			}
				$cmd = array ( 'action'=>$action , 'item'=>$first , 'property'=>$prop , 'what'=>'statement', 'new_statement'=>$is_new_statement ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
				$this->parseValueV1 ( $cols[2] , $cmd ) ;

				// Remove base statement
				array_shift ( $cols ) ;
				array_shift ( $cols ) ;
				array_shift ( $cols ) ;

				// Add qualifiers and sources
				while ( count($cols) >= 2 ) {
					$key = array_shift ( $cols ) ;
					$key = strtoupper ( trim ( $key ) ) ;
					$value = array_shift ( $cols ) ;
					if ( preg_match ( '/^(S|P|!S)(\d+)$/i' , $key , $m ) ) {
						$is_new_source_group = $m[1]=='!S' ;
						$what = in_array($m[1], ['S','!S']) ? 'sources' : 'qualifier' ;
						$num = $m[2] ;

						// Store previous one, and reset
						if ( !$skip_add_command ) $ret['data']['commands'][] = $cmd ;
						$skip_add_command = false ;
						$last_command = $ret['data']['commands'][count($ret['data']['commands'])-1] ;

						$cmd = [ 'action'=>$action , 'item'=>$first , 'property'=>$prop , 'what'=>$what , 'datavalue'=>$last_command['datavalue'] ] ;
						$dummy = [] ;
						$this->parseValueV1 ( $value , $dummy ) ; // TODO transfer error message
						$dv = [ 'prop' => 'P'.$num , 'value' => $dummy['datavalue'] ] ;
						if ( $is_new_source_group ) $dv['new_source_group'] = 1 ;
						if ( $what == 'sources' ) $cmd[$what] = [$dv] ;
						else $cmd[$what] = $dv ;
//$ret['debug'][] = array ( $what , $last_command['what'] ) ;
						if ( $what == 'sources' and $last_command['what'] == $what ) {
							$ret['data']['commands'][count($ret['data']['commands'])-1][$what][] = $cmd[$what][0] ;
							$skip_add_command = true ;
//							$last_command[$what][] = $cmd[$what][0] ;
						}
					}
				}
				if ( count($cols) != 0 ) $cmd['error'] = 'Incomplete reference/qualifier list' ;

			// Lexeme: set lemma
			} else if ( count ( $cols ) >= 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and preg_match ( '/^Lemma_([a-z_-]+)$/i' , $cols[1] , $m ) ) {
				$lang = strtolower ( $m[1] ) ;
				$cmd = array ( 'action'=>$action , 'what'=>'lemma' , 'item'=>$first , 'language'=>$lang ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
				$this->parseValueV1 ( $cols[2] , $cmd ) ;
				if ( !isset($cmd['datavalue']) or !isset($cmd['datavalue']['value']) ) {
					$cmd['error'] = 'Broken command' ;
					continue ;
				}
				$cmd['value'] = $cmd['datavalue']['value'] ;
				unset ( $cmd['datavalue'] ) ;

			// Form: set representation
			} else if ( count ( $cols ) >= 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and preg_match ( '/^Rep_([a-z_-]+)$/i' , $cols[1] , $m ) ) {
				$lang = strtolower ( $m[1] ) ;
				$cmd = array ( 'action'=>$action , 'what'=>'representation' , 'item'=>$first , 'language'=>$lang ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
				$this->parseValueV1 ( $cols[2] , $cmd ) ;
				if ( !isset($cmd['datavalue']) or !isset($cmd['datavalue']['value']) ) {
					$cmd['error'] = 'Broken command' ;
					continue ;
				}
				$cmd['value'] = $cmd['datavalue']['value'] ;
				unset ( $cmd['datavalue'] ) ;

			// Sense: set gloss
			} else if ( count ( $cols ) >= 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and preg_match ( '/^Gloss_([a-z_-]+)$/i' , $cols[1] , $m ) ) {
				$lang = strtolower ( $m[1] ) ;
				$cmd = array ( 'action'=>$action , 'what'=>'gloss' , 'item'=>$first , 'language'=>$lang ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
				$this->parseValueV1 ( $cols[2] , $cmd ) ;
				if ( !isset($cmd['datavalue']) or !isset($cmd['datavalue']['value']) ) {
					$cmd['error'] = 'Broken command' ;
					continue ;
				}
				$cmd['value'] = $cmd['datavalue']['value'] ;
				unset ( $cmd['datavalue'] ) ;

			// Lexeme: set lexical category
			} else if ( count ( $cols ) === 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and strtoupper(trim($cols[1])) == 'LEXICAL_CATEGORY' ) {
				$cmd = array ( 'action'=>$action , 'what'=>'lexical_category' , 'item'=>$first , 'value'=>strtoupper(trim($cols[2])) ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;

			// Lexeme: set language
			} else if ( count ( $cols ) === 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and strtoupper(trim($cols[1])) == 'LANGUAGE' ) {
				$cmd = array ( 'action'=>$action , 'what'=>'language' , 'item'=>$first , 'value'=>strtoupper(trim($cols[2])) ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;

			// Form: set grammatical features
			} else if ( count ( $cols ) === 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and strtoupper(trim($cols[1])) == 'GRAMMATICAL_FEATURE' ) {
				$features = array_map ( function($f) { return strtoupper(trim($f)) ; } , explode ( ',' , trim($cols[2]) ) ) ;
				$cmd = array ( 'action'=>$action , 'what'=>'grammatical_feature' , 'item'=>$first , 'value'=>$features ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;

			// Lexeme: add form
			} else if ( ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and count ( $cols ) >= 3 and strtoupper(trim($cols[1])) == 'ADD_FORM' ) {
				$representations = [] ;
				$features = [] ;
				for ( $ci = 2 ; $ci < count($cols) ; $ci++ ) {
					$col = trim($cols[$ci]) ;
					if ( preg_match ( '/^([a-z_-]+):"(.*)"$/i' , $col , $cm ) ) {
						$lang = strtolower($cm[1]) ;
						$representations[$lang] = array ( 'value'=>$this->enforceStringEncoding($cm[2]) , 'language'=>$lang ) ;
					} else if ( preg_match ( '/^[Q]\d+(,[Q]\d+)*$/i' , $col ) ) {
						$features = array_map ( function($f) { return strtoupper(trim($f)) ; } , explode ( ',' , $col ) ) ;
					}
				}
				$cmd = array ( 'action'=>'create' , 'type'=>'form' , 'item'=>$first ) ;
				$cmd['data'] = array ( 'representations'=>$representations , 'grammaticalFeatures'=>$features ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;

			// Lexeme: add sense
			} else if ( ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and count ( $cols ) >= 3 and strtoupper(trim($cols[1])) == 'ADD_SENSE' ) {
				$glosses = [] ;
				for ( $ci = 2 ; $ci < count($cols) ; $ci++ ) {
					$col = trim($cols[$ci]) ;
					if ( preg_match ( '/^([a-z_-]+):"(.*)"$/i' , $col , $cm ) ) {
						$lang = strtolower($cm[1]) ;
						$glosses[$lang] = array ( 'value'=>$this->enforceStringEncoding($cm[2]) , 'language'=>$lang ) ;
					}
				}
				$cmd = array ( 'action'=>'create' , 'type'=>'sense' , 'item'=>$first ) ;
				$cmd['data'] = array ( 'glosses'=>$glosses ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;

			} else if ( count ( $cols ) === 3 and ( $this->isValidItemIdentifier($first) or $this->isLastKeyword($first) ) and preg_match ( '/^([LADS])([a-z_-]+)$/i' , $cols[1] , $m ) ) {
				$code = strtoupper ( $m[1] ) ;
				$lang = strtolower ( trim ( $m[2] ) ) ;
				$cmd = array ( 'action'=>$action , 'what'=>$this->actions_v1[$code] , 'item'=>$first ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
				if ( $code == 'S' ) $cmd['site'] = $lang ;
				else $cmd['language'] = $lang ;
				$this->parseValueV1 ( $cols[2] , $cmd ) ;
				if ( !isset($cmd['datavalue']) or !isset($cmd['datavalue']['value']) ) {
					$cmd['error'] = 'Broken command' ;
					continue ;
				}
				$cmd['value'] = $cmd['datavalue']['value'] ;
				unset ( $cmd['datavalue'] ) ;
			} else if ( $first == 'MERGE' and count($cols) == 3 and $this->isValidItemIdentifier($cols[1]) and $this->isValidItemIdentifier($cols[2]) ) {
				$q1 = $cols[1] ;
				$q2 = $cols[2] ;
				if ( preg_replace('/\D/','',$q1)*1 < preg_replace('/\D/','',$q2)*1 ) list($q1,$q2) = [$q2,$q1] ; // Always merge into older item
				$cmd = array ( 'action'=>'merge' , 'type'=>'item' , 'item1' => $q1 , 'item2' => $q2 ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
			} else if ( $first == 'CREATE' ) {
				$cmd = array ( 'action'=>'create' , 'type'=>'item' ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
			} else if ( $first == 'CREATE_LEXEME' ) {
				if ( count($cols) < 4 ) {
					$cmd = array ( 'action'=>'create' , 'type'=>'lexeme' , 'error'=>'CREATE_LEXEME requires at least: language, lexical category, and one lemma' ) ;
				} else {
					$language_item = strtoupper(trim($cols[1])) ;
					$lexcat = strtoupper(trim($cols[2])) ;
					$lemmas = [] ;
					for ( $ci = 3 ; $ci < count($cols) ; $ci++ ) {
						$col = trim($cols[$ci]) ;
						if ( preg_match ( '/^([a-z_-]+):"(.*)"$/i' , $col , $cm ) ) {
							$lang = strtolower($cm[1]) ;
							$lemmas[$lang] = array ( 'value'=>$this->enforceStringEncoding($cm[2]) , 'language'=>$lang ) ;
						}
					}
					$cmd = array ( 'action'=>'create' , 'type'=>'lexeme' ) ;
					$cmd['data'] = array ( 'language'=>$language_item , 'lexicalCategory'=>$lexcat , 'lemmas'=>$lemmas ) ;
				}
				if ( $comment != '' ) $cmd['summary'] = $comment ;
			} else if ( $first == 'CREATE_PROPERTY' and count ( $cols ) >= 2) {
				$cmd = array ( 'action'=>'create' , 'type'=>'property' , 'data'=>'' ) ;
				$datatype = trim($cols[1]) ;
				$datatype = strtolower($datatype) ;
				if ($datatype == "commonsmedia") {
					$datatype = "commonsMedia" ;
				}
				if (!in_array($datatype,array("commonsMedia","globe-coordinate","wikibase-item","wikibase-property","string","monolingualtext","external-id","quantity","time","url","math","geo-shape","musical-notation","tabular-data","wikibase-lexeme","wikibase-form","wikibase-sense")) ) {
					$cmd['error'] = 'Unknown datatype: "'.$datatype.'".' ;
					//continue ;
				}
				$cmd['data'] = array ( 'datatype'=>$datatype );
				if ( $comment != '' ) $cmd['summary'] = $comment ;
			} else if ( $first == 'STATEMENT' and count($cols) == 2 ) {
				$id = trim ( $cols[1] ) ;
				$cmd = array ( 'action'=>$action , 'what'=>'statement' , 'id'=>$id ) ;
				if ( $comment != '' ) $cmd['summary'] = $comment ;
			}

			if ( isset($cmd['action']) && !$skip_add_command ) $ret['data']['commands'][] = $cmd ;
		}
//		if ( $this->use_command_compression ) $ret['data']['commands'] = $this->compressCommands ( $ret['data']['commands'] ) ;
	}

	protected function isValidItemIdentifier ( $q ) {
		return preg_match ( '/^(?:[PQLM]\d+|L\d+-[FS]\d+)$/' , $q ) ;
	}

    protected function importDataFromCSV ( $data, &$ret ) {
        $commands = [];
        $ret['data']['commands'] = &$commands;

        // write the CSV string to a "file" so we can use fgetcsv which unlike str_getcsv supports multiple lines
        $stream = fopen( 'php://temp', 'r+' );
        fwrite( $stream, $data );
        rewind( $stream );

        $header = fgetcsv( $stream );
        if ( $header[0] !== 'qid' ) { // this is deliberately case-sensitive, so Qid, QID etc. are reserved for future expansion
            fclose( $stream );
            return; // TODO error message
        }
        array_shift( $header );
        if ( in_array( 'qid', $header ) ) {
            fclose( $stream );
            return; // TODO error message
        }
        if ( $header[0] === '#' ) {
            fclose( $stream );
            return; // TODO error message: there must be at least one real command before the first comment / summary
        }

        while ( ( $row = fgetcsv( $stream ) ) !== false ) {
            $qid = array_shift( $row );
            if ( $qid === '' ) {
                $commands[] = [ 'action' => 'create', 'type' => 'item' ];
                $qid = 'LAST';
            }
            $lastStatementProperty = null;
            $lastStatementDatavalue = null;
            unset( $lastSources ); // break reference
            $lastSources = null;

            foreach ( $row as $index => $value ) {
                $command = [
                    'action' => 'add',
                    'item' => $qid
                ];
                $instruction = $header[$index];

                if ( $instruction[0] === '-' ) {
                    $command['action'] = 'remove';
                    $instruction = substr( $instruction, 1 );
                }

                if ( $instruction[0] === 'P' ) {
                    $command += [
                        'what' => 'statement',
                        'new_statement' => 0,
                        'property' => $instruction
                    ];
                    $this->parseValueV1( $value, $command );
                    $lastStatementProperty = $instruction;
                    $lastStatementDatavalue = $command['datavalue'];
                    unset( $lastSources ); // break reference
                    $lastSources = null;
                    $commands[] = $command;
                } elseif ( $instruction[0] === 'L' ) {
                    $command += [
                        'what' => 'label',
                        'language' => substr( $instruction, 1 ),
                        'value' => $value
                    ];
                    $commands[] = $command;
                } elseif ( $instruction[0] === 'D' ) {
                    $command += [
                        'what' => 'description',
                        'language' => substr( $instruction, 1 ),
                        'value' => $value
                    ];
                    $commands[] = $command;
                } elseif ( $instruction[0] === 'A' ) {
                    $command += [
                        'what' => 'alias',
                        'language' => substr( $instruction, 1 ),
                        'value' => $value
                    ];
                    $commands[] = $command;
                } elseif ( substr( $instruction, 0, 3 ) === 'qal' ) {
                    if ( $lastStatementProperty === null || $lastStatementDatavalue === null ) {
                        fclose( $stream );
                        return; // TODO error message
                    }
                    $dummy = []; // parseValueV1 writes to 'datavalue', but the qualifier needs 'value', so we parse into this dummy and copy the value later
                    $this->parseValueV1( $value, $dummy );
                    $command += [
                        'what' => 'qualifier',
                        'property' => $lastStatementProperty,
                        'datavalue' => $lastStatementDatavalue,
                        'qualifier' => [ 'prop' => 'P' . substr( $instruction, 3 ), 'value' => $dummy['datavalue'] ]
                    ];
                    $commands[] = $command;
                } elseif ( $instruction[0] === 'S' && ctype_digit( $instruction[1] ) ) {
                    if ( $lastStatementProperty === null || $lastStatementDatavalue === null ) {
                        fclose( $stream );
                        return; // TODO error message
                    }
                    $dummy = []; // parseValueV1 writes to 'datavalue', but the source needs 'value', so we parse into this dummy and copy the value later
                    $this->parseValueV1( $value, $dummy );
                    unset( $lastSources ); // break reference
                    $lastSources = [ [ 'prop' => 'P' . substr( $instruction, 1 ), 'value' => $dummy['datavalue'] ] ];
                    $command += [
                        'what' => 'sources',
                        'property' => $lastStatementProperty,
                        'datavalue' => $lastStatementDatavalue,
                        'sources' => &$lastSources
                    ];
                    $commands[] = $command;
                } elseif ( $instruction[0] === 's' && ctype_digit( $instruction[1] ) ) {
                    if ( $lastSources === null ) {
                        fclose( $stream );
                        return; // TODO error message
                    }
                    $dummy = []; // parseValueV1 writes to 'datavalue', but the source needs 'value', so we parse into this dummy and copy the value later
                    $this->parseValueV1( $value, $dummy );
                    $lastSources[] = [ 'prop' => 'P' . substr( $instruction, 1 ), 'value' => $dummy['datavalue'] ];
                } elseif ( $instruction[0] === 'S' ) {
                    $command += [
                        'what' => 'sitelink',
                        'site' => substr( $instruction, 1 ),
                        'value' => $value
                    ];
                    $commands[] = $command;
                } elseif ( $instruction === '#' ) {
                    $lastIndex = count( $commands ) - 1;
                    $commands[$lastIndex]['summary'] = $value;
                } else {
                    fclose( $stream );
                    return; // TODO error message
                }
            }
        }
        fclose( $stream );
    }


	protected function getEntityType ( $q ) {
		$q = strtoupper ( trim ( $q ) ) ;

		# Simple cases, from config file
		foreach ( $this->getSite()->types AS $char => $data ) {
			if ( preg_match ( '/^'.$char.'\d+$/' , $q ) ) return $data->type ;
		}

		# Complex cases, hardcoded
		if ( preg_match ( '/^L\d+-F\d+$/' , $q ) ) return 'form' ;
		if ( preg_match ( '/^L\d+-S\d+$/' , $q ) ) return 'sense' ;
		return 'unknown' ;
	}


	protected function convertToUTF8($text){
		$encoding = mb_detect_encoding($text, mb_detect_order(), false);
		if ( $encoding == "UTF-8" ) {
			$text = mb_convert_encoding($text, 'UTF-8', 'UTF-8');
		}
		$ret = iconv(mb_detect_encoding($text, mb_detect_order(), false), "UTF-8//IGNORE", $text);
		return $ret;
	}

	protected function enforceStringEncoding ( $s ) {
		return $this->convertToUTF8($s) ;
#		return @iconv('UTF-8', 'UTF-8//IGNORE', $s) ;
	}

	protected function parseValueV1 ( $v , &$cmd ) {
		$v = trim ( $v ) ;

		if ( $v == 'somevalue' || $v == 'novalue' ) {
			$cmd['datavalue'] = array ( "value"=>$v, "type"=>$v ) ;
			return true ;
		}

		if ( $v == 'LAST' || $v == 'LAST_FORM' || $v == 'LAST_SENSE' ) {
			$cmd['datavalue'] = array ( "type"=>"wikibase-entityid" , "value"=>array("entity-type"=>"item", "id"=>strtoupper($v)) ) ;
			return true ;
		}

		if ( $this->isValidItemIdentifier ( $v ) ) {
			$cmd['datavalue'] = array ( "type"=>"wikibase-entityid" , "value"=>array("entity-type"=>$this->getEntityType($v),"id"=>strtoupper($v)) ) ;
			return true ;
		}

		if ( preg_match ( '/^"(.*)"$/i' , $v , $m ) ) { // STRING
			$cmd['datavalue'] = array ( "type"=>"string" , "value"=>trim($this->enforceStringEncoding($m[1])) ) ;
			return true ;
		}

		if ( preg_match ( '/^([a-z_-]+):"(.*)"$/i' , $v , $m ) ) { // MONOLINGUALTEXT
			$cmd['datavalue'] = array ( "type"=>"monolingualtext" , "value"=>array("language"=>$m[1],"text"=>trim($this->enforceStringEncoding($m[2]))) ) ;
			return true ;
		}

		if ( preg_match ( '/^([+-]{0,1})(\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z\/{0,1}(\d*)(\/J){0,1}$/i' , $v , $m ) ) { // TIME
			$prec = 9 ;
			if ( $m[8] != '' ) $prec = $m[8]*1 ;
			$is_julian = false ;
			if ( count($m) == 10 ) {
			    $is_julian = true ;
			    $v = preg_replace ( '/\/J$/', '', $v ) ;
                        }
			$cmd['datavalue'] = array ( "type"=>"time" , "value"=>array(
				'time' => preg_replace ( '/\/\d+$/' , '' , $v ) ,
				'timezone' => 0 ,
				'before' => 0 ,
				'after' => 0 ,
				'precision' => $prec ,
				'calendarmodel' => $is_julian ? 'http://www.wikidata.org/entity/Q1985786' : 'http://www.wikidata.org/entity/Q1985727'
			) ) ;
			return true ;
		}

		if ( preg_match ( '/^\@\s*([+-]{0,1}[0-9.]+)\s*\/\s*([+-]{0,1}[0-9.]+)$/i' , $v , $m ) ) { // GPS
			$cmd['datavalue'] = array ( "type"=>"globecoordinate" , "value"=>array(
				'latitude' => $m[1]*1 ,
				'longitude' => $m[2]*1 ,
				'precision' => 0.000001 ,
				'globe' => 'http://www.wikidata.org/entity/Q2'
			) ) ;
			return true ;
		}

		if ( preg_match ( '/^([\+\-]{0,1}\d+(\.\d+){0,1})(U(\d+)){0,1}$/' , $v , $m ) ) { // Quantity
			$cmd['datavalue'] = array ( "type"=>"quantity" , "value"=>array(
				"amount" => $m[1] ,
				"unit" => isset( $m[4] ) ? "{$this->getSite()->entityBase}Q{$m[4]}" : "1"
			) ) ;
			return true ;
		}
		if ( preg_match ( '/^([\+\-]{0,1}\d+(\.\d+){0,1})\s*~\s*([\+\-]{0,1}\d+(\.\d+){0,1})(U(\d+)){0,1}$/' , $v , $m ) ) { // Quantity with error
			$value = $m[1]*1 ;
			$error = $m[3]*1 ;
			$cmd['datavalue'] = array ( "type"=>"quantity" , "value"=>array(
				"amount" => $m[1] , // use $m[1] (string) instead of $value (float) to avoid precision problems
				"upperBound" => $value+$error ,
				"lowerBound" => $value-$error ,
				"unit" => isset( $m[6] ) ? "{$this->getSite()->entityBase}Q{$m[6]}" : "1"
			) ) ;
			return true ;
		}


		$cmd['datavalue'] = array ( "type"=>"unknown" , "text"=>$v ) ;
		$cmd['error'] = array('PARSE','Unknown V1 value format') ;
	}

} ;

?>
