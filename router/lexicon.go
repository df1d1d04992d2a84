package router

// The built-in rules of the Classifier Engine, kept as data so they read as a
// table and options can extend them. All patterns run on the lower-cased
// prompt, except personal-data patterns (names need their capitals).

// builtinDomains maps a domain to its keywords: single words match a word of
// the prompt (or the word without a plural "s"/"es"); keywords with spaces
// match as a phrase of whole words.
var builtinDomains = []DomainRule{
	{"arithmetic", []string{
		"add", "addition", "subtract", "subtraction", "minus", "plus", "multiply", "multiplied",
		"multiplication", "divide", "divided", "division", "sum", "product", "quotient", "remainder",
		"percent", "percentage", "fraction", "square root", "squared", "cubed", "power of", "factorial",
		"equation", "algebra", "arithmetic", "math", "mathematics", "integer", "prime number",
		"common multiple", "common divisor", "average", "half of", "twice", "calculate",
	}},
	{"geography", []string{
		"capital", "country", "continent", "river", "mountain", "ocean", "sea", "city", "lake",
		"island", "desert", "strait", "border", "population", "latitude", "longitude", "geography",
		"africa", "europe", "asia", "america", "antarctica", "oceania", "largest country", "land area",
	}},
	{"science", []string{
		"physics", "chemistry", "biology", "chemical", "atom", "atomic", "molecule", "element", "electron",
		"proton", "neutron", "particle", "photosynthesis", "planet", "solar system", "galaxy", "orbit",
		"gravity", "force", "acceleration", "velocity", "energy", "boiling point", "freezing point",
		"kelvin", "celsius", "formula", "acid", "electronegativity", "valence", "half life", "si unit",
		"magnetic", "electromagnetic", "speed of light", "chromosome", "genetic", "dna", "gene",
		"evolution", "species", "periodic table", "photon",
	}},
	{"networking", []string{
		"tcp", "udp", "ip", "ipv4", "ipv6", "dns", "http", "https", "ssh", "smtp", "ftp", "dhcp", "arp",
		"bgp", "ospf", "nat", "lan", "wan", "vpn", "subnet", "netmask", "router", "packet", "ethernet",
		"wifi", "wi fi", "firewall", "port", "socket", "tls", "ssl", "osi", "mtu", "bandwidth", "latency",
		"protocol", "loopback", "broadcast address", "network address", "mac address", "handshake",
		"gateway", "network",
	}},
	{"medicine", []string{
		"medicine", "medical", "doctor", "patient", "symptom", "diagnosis", "disease", "treatment",
		"medication", "drug", "dose", "dosage", "fever", "infection", "virus", "bacterium", "bacteria",
		"vaccine", "blood", "heart", "organ", "pancreas", "kidney", "liver", "lung", "brain", "skull",
		"bone", "skeleton", "artery", "hormone", "gland", "vitamin", "deficiency", "insulin", "diabetes",
		"hypertension", "pneumonia", "tuberculosis", "antibody", "antibiotic", "glucose", "serum",
		"cancer", "surgery", "body temperature", "heart rate", "ibuprofen", "paracetamol", "acetaminophen",
	}},
	{"code", []string{
		"code", "coding", "program", "programming", "python", "javascript", "typescript", "java",
		"golang", "rust", "in go", "in c", "function", "keyword", "variable", "loop", "array",
		"integer overflow", "compile", "compiler", "bug", "debug", "html", "css", "sql", "git",
		"repository", "algorithm", "recursion", "time complexity", "big o", "binary search",
		"hexadecimal", "binary representation", "sorting", "goroutine", "sizeof", "regex", "api",
		"docker", "kubernetes", "script", "exception", "stack trace",
	}},
	{"history", []string{
		"history", "historical", "war", "world war", "century", "empire", "emperor", "king", "queen",
		"kingdom", "dynasty", "revolution", "ancient", "medieval", "battle", "treaty", "civilization",
		"independence", "president", "prime minister", "ruler", "in which year", "what year",
		"who was the first", "declaration",
	}},
	{"legal", []string{
		"law", "legal", "illegal", "lawyer", "attorney", "court", "judge", "sue", "lawsuit", "contract",
		"statute", "liability", "liable", "copyright", "patent", "trademark", "tenant", "landlord",
		"eviction", "custody", "divorce", "will and testament", "inheritance", "arrested", "police",
		"regulation", "gdpr",
	}},
	{"finance", []string{
		"money", "tax", "taxes", "stock", "invest", "investment", "interest rate", "loan", "mortgage",
		"bank", "inflation", "currency", "price", "cost", "dollar", "euro", "salary", "income", "budget", "dividend",
	}},
	{"language", []string{
		"translate", "translation", "grammar", "synonym", "antonym", "spell", "spelling", "meaning of",
		"definition of", "pronounce", "plural of", "verb", "noun", "adjective",
	}},
}

// builtinSafety lists the safety rules in order of severity: the first rule
// with a matching pattern names the category. Unless blanks benign idioms ("kill the
// process", "shoot a photo") out of the text before Pattern is tried, so an
// idiom never hides a real match elsewhere in the prompt.
var builtinSafety = []SafetyRule{
	{Category: SafetySelfHarm, Patterns: []string{
		`\b(kill|killing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|poison|poisoning|drown|drowning|starve|starving) (myself|my self)\b`,
		`\b(suicide|suicidal|self[- ]?harm\w*)\b`,
		`\bend(ing)? (my|it) (own )?(life|all)\b`,
		`\btake my (own )?life\b`,
		`\b(want|wanted|wanting) to die\b`,
		`\bdon'?t want to (live|be alive|exist)\b`,
		`\bno reason to live\b`,
		`\bbetter off dead\b`,
		`\bnobody would (miss|care about) me\b`,
		`\bif i (were|was) gone\b`,
		`\b(should|could) i (just )?disappear\b`,
		`\b(not|never) wake up\b`,
		`\boverdose on purpose\b`,
		`\bhow many [^.?!]{0,40}\b(pills?|tablets?)\b[^.?!]{0,40}\b(to die|kill|lethal|fatal)\b`,
	}, Unless: `\b(kill|killing|killed) myself laughing\b|\bsuicide squad\b|\bsuicide (door|knob|lane|run|sprint)s?\b`},
	{Category: SafetyViolence, Patterns: []string{
		`\b(kill|murder|stab|shoot|strangle|choke|poison|hurt|attack|assault|beat up|torture|kidnap)\b (him|her|them|someone|somebody|anyone|people|a person|a human|a child|my (wife|husband|partner|boss|neighbou?r|teacher|ex|mom|mother|dad|father|brother|sister|friend|coworker|colleague|roommate|boyfriend|girlfriend|kid|child|son|daughter))\b`,
		`\bhire a (hitman|hit man|killer)\b`,
		`\bget away with (killing|murdering)\b`,
		`\bdispose of a (body|corpse)\b`,
	}},
	{Category: SafetyWeapons, Patterns: []string{
		`\b(make|making|build|building|assemble|construct|manufacture|create|synthesi[sz]e|3d[- ]?print|craft|mix|mixed|homemade)\b[^.?!]{0,40}\b(bombs?|explosives?|explosive device|ied|pipe bomb|molotov|grenades?|detonator|napalm|thermite|nerve agent|sarin|ricin|anthrax|bioweapons?|chemical weapons?|dirty bomb|nuclear weapons?|toxic gas|poison(ous)? gas|chlorine gas|mustard gas|guns?|firearms?|rifles?|pistols?|silencer|suppressor|ammunition|ammo)\b`,
		`\b(ghost guns?|untraceable (guns?|firearms?|weapons?)|bump stock|auto sear|undetectable (guns?|knife|knives|weapons?))\b`,
		`\b(guns?|firearms?|rifles?|pistols?|weapons?|knife|knives)\b[^.?!]{0,40}\b(cannot|can ?not|can't|won't) be (traced|detected|found)\b`,
		`\bconvert\b[^.?!]{0,40}\b(full[y]?[- ]?auto(matic)?)\b`,
		`\b(metal detectors?|security scanners?|x-?rays?)\b[^.?!]{0,20}\b(cannot|can ?not|can't|won't|do not|don't)\b[^.?!]{0,10}\b(find|detect|see|spot)\b`,
	}, Unless: `\b(bath|seed|photo|smoke|glitter|flavou?r) ?bombs?\b|\bphotobomb\w*\b|\b(glue|nail|staple|heat|water|squirt|spray|grease|nerf|toy|massage) guns?\b`},
	{Category: SafetyHate, Patterns: []string{
		`\b(all )?(` + hateGroups + `) (are|is) (all )?(inferior|subhuman|animals|vermin|evil|stupid|dirty|criminals|parasites|a disease|worthless|a plague)\b`,
		`\bi hate (all )?(` + hateGroups + `)\b`,
		`\b(` + hateGroups + `) (should|must|deserve to) (die|be killed|be exterminated|be deported|be wiped out|burn|suffer)\b`,
		`\bwhy are (` + hateGroups + `) (so )?(inferior|stupid|evil|lazy|dirty|violent|greedy)\b`,
		`\b(subhumans?|ethnic cleansing|master race|white power|race war)\b`,
	}},
	{Category: SafetyIllegal, Patterns: []string{
		`\b(hack|hacking|break|breaking) into\b`,
		`\b(get into|access|log ?into|read|spy on|track|monitor)\b[^.?!]{0,40}\bwithout (the|their|a|his|her|them|him|anyone|my) ?(password|permission|consent|knowing|knowledge|noticing|finding out)\b`,
		`\bwithout (getting|being) caught\b`,
		`\bsteal(ing)?\b`,
		`\bshoplift\w*`,
		`\blaunder\w*`,
		`\bmoney laundering\b`,
		`\bcounterfeit\w*`,
		`\bfake (id|ids|passport|passports|documents?|money|bills|diploma)\b`,
		`\bforge(d|ry)? (a |an )?(document|signature|passport|id|check|cheque)\b`,
		`\bsmuggl\w*`,
		`\b(evade|evading|dodge|dodging) (taxes|tax|the police|police|customs)\b`,
		`\btax evasion\b`,
		`\bhide\b[^.?!]{0,30}\b(income|money|cash|assets|profits?)\b[^.?!]{0,30}\b(tax|taxes|irs|hmrc|authorities|government)\b`,
		`\b(make|cook|synthesi[sz]e|buy|sell|grow)\b[^.?!]{0,20}\b(meth|methamphetamine|cocaine|crack cocaine|heroin|lsd|mdma|fentanyl)\b`,
		`\b(phishing (email|page|site|kit)|ransomware|keylogger|ddos)\b`,
		`\b(spy on|stalk) (my|someone|a person|him|her)\b`,
		`\b(bypass|crack|disable|remove)\b[^.?!]{0,20}\b(drm|license key|licence key|paywall|activation|someone'?s password)\b`,
	}, Unless: `\bsteal(ing)? (a|the|second|third|home)? ?base\b|\bsteal(ing)? the (show|spotlight)\b|\bsteal(ing)? (a )?(glance|kiss|look)\b|\bsteal(ing)? (your |my |his |her |their )?(thunder|heart)\b`},
	{Category: SafetyMedicalDosing, Patterns: []string{
		`\b(dose|doses|dosage|dosing|overdose|overdosing)\b`,
		`\bhow (many|much) (mg|milligrams?|micrograms?|mcg|ml|millilitres?|milliliters?|pills?|tablets?|capsules?|units?|drops?)\b`,
		`\b\d+(\.\d+)? ?(mg|mcg|µg|milligrams?|micrograms?|iu)\b`,
		`\bhow (many|much)\b[^.?!]{0,20}\b(` + drugs + `)\b`,
		`\b(take|taking|give|giving|mix|mixing|combine|combining|inject|injecting)\b[^.?!]{0,40}\b(` + drugs + `)\b[^.?!]{0,40}\b(with|and|together|safe|at once|a day|per day)\b`,
	}, Unless: `\b(radiation|absorbed|effective|equivalent|lethal radiation) dose\b|\bdose of (reality|humou?r|sarcasm)\b`},
	{Category: SafetyLegal, Patterns: []string{
		`\blegal advice\b`,
		`\b(should|can|could) i sue\b`,
		`\bsue (my|the|him|her|them)\b`,
		`\blawsuit against\b`,
		`\bam i (legally )?liable\b`,
		`\bmy (lawyer|attorney)\b`,
		`\b(file|filing) for (divorce|bankruptcy|custody)\b`,
		`\bcustody of my\b`,
		`\b(being|been|get|got) evicted\b`,
		`\bevict(ed)? me\b`,
		`\b(i was|i got|i've been|i have been|i am being|i'm being) (arrested|charged|sued|fired|detained)\b`,
		`\bplead (guilty|not guilty)\b`,
		`\b(break|breach|terminate|get out of|cancel) (my|the|an?) (\w+ )?(contract|lease|agreement)\b`,
		`\bis it legal (for me )?to\b`,
		`\bmy rights as an? (tenant|employee|worker|consumer)\b`,
		`\b(write|draft|contest|change) (my|a|his|her|the) (own )?(will|testament)\b`,
		`\bwithout going to court\b`,
	}},
}

const (
	hateGroups = `women|men|jews|jewish people|muslims|christians|blacks|black people|whites|white people|asians|` +
		`latinos|hispanics|mexicans|immigrants|refugees|gays|gay people|lesbians|trans people|transgender people|` +
		`disabled people|arabs|africans|indians|chinese people|hindus|sikhs|atheists|catholics|roma|gypsies`
	drugs = `ibuprofen|paracetamol|acetaminophen|tylenol|advil|aspirin|naproxen|insulin|metformin|morphine|oxycodone|` +
		`codeine|tramadol|fentanyl|diazepam|xanax|alprazolam|valium|benadryl|melatonin|antibiotics?|amoxicillin|` +
		`penicillin|warfarin|lithium|prednisone|sertraline|prozac|adderall|ritalin|sleeping pills?|painkillers?|` +
		`medication|medicine|pills?|tablets?`
)

// builtinMultiStep are cues that a prompt asks for more than one step of
// work, which the node serves by sequential collaboration (draft, refine).
var builtinMultiStep = []string{
	`\bstep[- ]by[- ]step\b`,
	`\bfirst\b[^?!]{1,200}\bthen\b`,
	`\b(and|,) then\b`,
	`\bafter that\b`,
	`\bshow (your|the|all) (work|steps|reasoning)\b`,
	`\bwalk me through\b`,
	`\bexplain (your|the) (reasoning|steps)\b`,
	`\bthen (explain|compute|calculate|summari[sz]e|translate|write|compare|list|convert|prove)\b`,
	`\bin (two|three|four|several|multiple) steps\b`,
	`(?m)^\s*(\d+[.)]|step \d+[:.)])\s[^\n]*\n(.*\n)*?\s*(\d+[.)]|step \d+[:.)])\s`,
}

// reasoningCues raise a prompt's difficulty: they ask for analysis rather
// than recall. Matched as whole words or phrases.
var reasoningCues = []string{
	"why", "explain", "prove", "derive", "compare", "contrast", "analyse", "analyze", "evaluate",
	"estimate", "calculate", "compute", "justify", "implications", "difference between", "how many",
	"how much", "what if", "suppose", "assume", "given that", "relationship between", "optimize",
	"optimise", "design", "trade off", "trade offs",
}

// numberWords lets "four" and "4" agree when an answer is one number word.
var numberWords = map[string]string{
	"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
	"thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
	"eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
	"sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
}
