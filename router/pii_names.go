package router

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names, with or without a cue word, in English, French, German and Spanish.
// After a cue ("my colleague", "je m'appelle", "Frau", "mi amiga"…) a
// capitalised word that is no stop word is a name, and so is a lower-case
// first name from the lexicon. Without a cue, a capitalised first name from
// the lexicon is a name, with up to two capitalised words after it as its
// surname; in lower case, a first name followed by a surname from the
// lexicon, or by any word that is no stop word, or an unambiguous first name
// alone. First names that are also common words or places (May, Will,
// Victoria, Florence…) count only with a surname after them or a cue before
// them; a word right after "San", "Saint"… or before "Street",
// "University"… is a place or an institution, not a person; well-known
// public figures are left alone: redacting "Marie Curie" would break a
// history question.

// firstNames is a lexicon of common given names in English, French, German
// and Spanish (lower-case, accents kept).
var firstNames = wordSet(`
aaron adam adrian aidan alan albert alberto alejandro alejandra alex alexander alexandra alexandre alfred alfonso alice alicia alina alison amanda amelia amy ana andrea andreas andrew andré angela angelika anita ann anna anne annette anthony antoine antonio arnaud arthur astrid aurélie axel barbara beatriz benjamin bernard bernd bettina birgit blanca brian bruno camille carla carlos carmen carol caroline catherine cecilia cédric celia charles charlotte chloé christian christina christine christoph christopher claire clara claude claudia clément colin conchita cristina daniel daniela david deborah denis diana diane diego dieter dirk dolores dominique dorothea edward elena eleanor elisa elisabeth elizabeth ella emily emma emmanuel enrique eric erika ernesto esteban estelle esther eva evelyn fabian fabienne fanny federico felipe felix fernando florian france francisco françois françoise frank franz frédéric frédérique gabriel gabriele gabrielle gaëlle george georg gerhard gérard gisela giulia gonzalo grégoire guillaume gunther günter hannah hans harald harry heike heinz helen helga henri henrik henry hugo ignacio inés ingrid irene isabel isabelle isabella ivan jack jacqueline jacques jakob james jan jane janet javier jean jeanne jennifer jens jérôme jessica jesús joachim joan joanna johann johanna johannes john jonas jonathan jordi jorge josé josefa joseph josephine juan juana judith julia julian julie julien jürgen karin karl karen katharina kathrin katie kerstin kevin klaus laura laurent lea léa leon léon leonie liam linda lisa lorenzo louis louise lucas lucía lucie luis luisa lukas luz magdalena manon manuel manuela marc marcel marco marcos margaret margarita maria marie marina mario marion marta martha martin martina mary mathias mathieu matthew matthias maurice maxime melanie mélanie michael michel michelle miguel monika monique nadia nadine natalia nathalie nicolas nicole niklas nina noah noemí nora norbert olga oliver olivia olivier pablo paco pascal patricia patrick paul paula pedro peter petra philippe pierre rachel rafael ralf ramón raquel raúl rebecca renate rené richard robert roberto rodrigo roland rosa rosario ruth sabine samuel sandra santiago sara sarah sebastian sébastien sergio simon simone sofia sofía sophie stefan stefanie stephanie stéphane steven susanne susan sven sylvie teresa thierry thomas tim tobias ulrich ulrike ursula valentin valérie vanessa véronique vincent virginie walter werner william wolfgang xavier yolanda yves zoe zoé
anaïs benoît hélène jérémie joël loïc mathilde océane thérèse éric étienne ángel álvaro óscar jürgen jörg björn günther
marcus juliette inès victor émile lucas hannah oliver emily grace rebecca dorothy priya gérard bernard eloïse éloïse
sabine ingrid felix lukas anneliese jana dieter javier lucía ainhoa marta elena andrés diego rosa pablo
amélie agnès aurore baptiste bastien brigitte cédric céline chantal corinne delphine élise élodie émilie fabrice
florence gilles hervé jacqueline josiane karine laetitia lionel loïs ludovic maëlle marine maxime morgane muriel
nadège noël odile pascale perrine romain sandrine solène sylvain tristan yann yannick
annika anke bärbel dagmar elke frieda friedrich gerd gudrun hanna heike helmut holger horst jens jörn karsten
kurt lars lena lennart leonie lotte malte manfred marlene mia nico ole paula reinhard rüdiger sigrid silke sönke
till torsten udo uta uwe volker wiebke
adriana agustín alba alicia amparo araceli begoña borja cayetana concepción consuelo encarnación eva fátima gloria
guadalupe hugo iñaki itziar jaime jimena josé lorena macarena maite marisol mercedes milagros montserrat nerea
nuria paloma pilar rocío sergio soledad susana txema vicente ximena
aisha amir fatima mohammed muhammad omar yusuf ali mehmet ayşe zeynep wei li chen raj arjun anil sanjay kenji yuki
tom tommy ben sam joe jim jimmy tony nick mike dave steve matt chris andy rob bob ted ed danny josh jake luke ryan sean
siobhan niamh aoife ciara sinéad declan ciaran cormac fiona kirsty ailsa mhairi rhiannon bethan dylan gareth owen
jessica ashley brittany tiffany amber heather megan lauren kayla nicole samantha stephanie brandon tyler justin cody
kyle zachary jason eric jeremy timothy jeffrey gregory kenneth ronald donald gary larry scott raymond dennis walter
aurélien adèle alexis alix amandine anthony arthur aurélie axelle benjamin bérénice blandine capucine clémence
clotilde coline cyril damien dorian edouard édouard élodie emeline enzo eugénie flavie gabin gaspard gwendoline
hortense hugues isaure jade jordan josselin justine killian léna léo léonie lilou louane lucile ludivine mael maël
margaux marius mathis mattéo maxence nathan noé noémie paulin perrine quentin raphaël rémi romane sacha salomé
samuel séverine tanguy théo timothée valentine victoire violette yvonne
markus marcus friederike frederike jörg joerg matthias maximilian moritz jannik jonas finn leon luca paul elias
henrik johanna charlotte emilia marie sophie hannah lina mila ella klara pia greta ida jule luisa amelie nele
lisa-marie annelie annegret brunhilde christa edeltraud elfriede erna gertrud hannelore hildegard ilse irmgard
käthe lieselotte margarete renate rosemarie ursel waltraud wilhelm wolfram heinrich hermann otto ernst fritz
alejandro álex adrián aitor álvaro antonio beatriz carlota cayetano daniela emilio esperanza estefanía eugenia
francisca germán gregorio hernán ignacio iker inmaculada irene jacinto jesús joaquín josefina leire leonor lola
lorenzo manolo marcelo mateo matías maximiliano mercè miren nacho nicolás olaia patricio pepe ramiro remedios
rubén salvador samuel santiago sebastián silvia tomás valeria valentina vera víctor yago zaida
`)

// ambiguousNames are first names that are also common words or places: they
// count only with a surname after them or a cue before them.
var ambiguousNames = wordSet(`
april august austin bill carmen charlotte dolores eugene florence france georgia grace hope iris jordan june
lincoln lourdes luz madison mark mercedes max may olive paris regina rosario rose ruby santiago sydney
victoria will virginia helena augusta florian dean joy faith summer autumn
`)

// surnames are common family names; in lower-case text only a first name
// followed by one of them is taken for a name.
var surnames = wordSet(`
smith johnson williams brown jones miller davis wilson taylor anderson thomas moore martin jackson thompson white
harris clark lewis robinson walker young allen wright scott green baker adams nelson hill campbell mitchell roberts
carter phillips evans turner parker collins edwards stewart morris murphy cook rogers morgan cooper peterson
dupont durand dubois lefebvre leroy moreau laurent simon michel garcia bernard petit richard robert girard bonnet
lambert fontaine rousseau vincent muller fournier mercier blanc guerin boyer chevalier lopez lópez martinez martínez
müller mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann schäfer koch bauer richter klein
wolf schröder neumann schwarz zimmermann braun krüger hofmann hartmann lange schmitt werner krause meier lehmann
garcía fernández fernandez gonzález gonzalez rodríguez rodriguez sánchez sanchez pérez perez gómez gomez díaz diaz
moreno muñoz alonso gutiérrez romero navarro torres domínguez vázquez ramos gil ramírez serrano blanco molina
suárez ortega delgado castro ortiz rubio marín sanz iglesias medina garrido cortés castillo santos guerrero
`)

// famousSurnames mark public figures whose names a question may rightly carry.
var famousSurnames = wordSet(`
curie einstein newton darwin mozart beethoven bach picasso shakespeare napoleon bonaparte gandhi lincoln
washington hugo cervantes goethe schiller kant hegel marx freud galilei galileo copernicus kepler pasteur
sartre beauvoir proust voltaire rousseau descartes dickens austen tolstoy kahlo dalí dali gaudí gaudi
merkel macron churchill roosevelt kennedy mandela luther bolívar bolivar vinci gaulle obama biden trump
bismarck humboldt planck heisenberg bohr tesla edison hawking turing lovelace nobel columbus colón colomb
magellan vespucci pizarro armstrong gagarin aldrin caesar cleopatra chopin vivaldi verdi dante hemingway twain orwell
tolkien rowling disney franklin jefferson lenin stalin hitler zuckerberg musk jobs gates
zola balzac flaubert molière moliere camus verne dumas baudelaire rimbaud lorca neruda borges márquez marquez kafka
brecht nietzsche velázquez velazquez goya
`)

// placeBefore are words that turn a following first name into a place ("San José", "Saint Louis").
// "Mona" is here for the painting: "Mona Lisa" is no one to protect.
var placeBefore = wordSet(`san santa santo são saint sainte st st. fort port lake mount cape mona`)

// institutionAfter are words that turn a name before them into a place or an
// institution ("Victoria Station", "Elizabeth Line", "Marie Curie Hospital").
var institutionAfter = wordSet(`
street st road avenue lane drive boulevard square station line bridge park hospital university college school
church cathedral airport museum hall house island lake river falls bay institute foundation prize award
rue avenue place gare université école église hôpital lycée collège pont
straße strasse platz bahnhof universität schule kirche krankenhaus brücke
calle plaza estación universidad colegio iglesia hospital puente
`)

// notSurnames are capitalised words that may follow a first name without being its surname.
var notSurnames = wordSet(`
the a an and or but if so to of in on at by for from with about as is was are be has have had will would can
could should may might must do does did not no yes this that these those it its he she they we you i my your his
her our their what who whom which when where why how please thanks thank hi hello dear ok sir madam team all
whether because again now later tonight too also then there here that's about into over after before
que qui si quand demain aussi alors puis ici là après avant
dass ob wenn morgen heute auch dann hier nach vor bitte
cuando mañana hoy también luego aquí después antes
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december today tomorrow yesterday
le la les un une et ou mais de du des à au aux en pour par avec sur dans est sont il elle ils nous vous je
lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai juin juillet août septembre
octobre novembre décembre bonjour merci
der die das ein eine und oder aber von zu im am mit für auf ist sind er sie wir ihr ich du hallo danke
montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz juni juli oktober dezember
el los las uno y o pero del al con por para es son él ella nosotros yo tú hola gracias
lunes martes miércoles jueves viernes sábado domingo enero febrero marzo abril mayo junio julio agosto
septiembre octubre noviembre diciembre
`)

// surnameParticles may join a first name to its surname ("Ana de la Cruz", "Ludwig van …").
var surnameParticles = wordSet(`de del la le van von der den da di du dos das`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// nameWord is one word of the text for the name scan.
type nameWord struct {
	start, end int
	lower      string
	upper      bool // first letter upper-case
}

// nameWords splits text into words of letters, apostrophes and hyphens,
// with byte offsets into text.
func nameWords(text string) []nameWord {
	var ws []nameWord
	start := -1
	for i, r := range text {
		inWord := unicode.IsLetter(r) || (start >= 0 && (r == '\'' || r == '’' || r == '-' || r == '.' && i-start <= 2))
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			ws = append(ws, newNameWord(text, start, i))
			start = -1
		}
	}
	if start >= 0 {
		ws = append(ws, newNameWord(text, start, len(text)))
	}
	return ws
}

func newNameWord(text string, start, end int) nameWord {
	// A word never ends with the joiners it may hold inside.
	for end > start && strings.ContainsRune("'’-.", rune(text[end-1])) {
		end--
	}
	r, _ := utf8.DecodeRuneInString(text[start:])
	return nameWord{start: start, end: end, lower: strings.ToLower(text[start:end]), upper: unicode.IsUpper(r)}
}

// isFirstName looks a word up in the lexicon; "Jean-Pierre" counts by its first part.
func isFirstName(lower string) bool {
	if firstNames[lower] || ambiguousNames[lower] {
		return true
	}
	head, _, ok := strings.Cut(lower, "-")
	return ok && firstNames[head]
}

// adjacent says whether only spaces separate two words (a name does not run
// across a comma or a full stop).
func adjacent(text string, a, b nameWord) bool {
	return strings.TrimLeft(text[a.end:b.start], " \t") == ""
}

// nameCues are the words that announce a name, by language, as lower-case
// word sequences. After one, a capitalised word (not a stop word) is a name,
// and so is a lower-case first name from the lexicon.
var nameCues = func() [][]string {
	var cues [][]string
	for _, c := range strings.Split(`my name is|name is|i am|i'm|call me|patient|client|mr|mrs|ms|miss|dr|prof|dear|`+
		`my wife|my husband|my partner|my son|my daughter|my mother|my father|my mom|my dad|my brother|my sister|`+
		`my friend|my colleague|my boss|my neighbour|my neighbor|my landlord|my landlady|my tenant|my doctor|my lawyer|`+
		`my teacher|my manager|my cousin|my uncle|my aunt|my grandmother|my grandfather|my girlfriend|my boyfriend|`+
		`my fiancé|my fiancée|my flatmate|my roommate|`+
		`je m'appelle|mon nom est|je suis|m|mme|mlle|madame|monsieur|patiente|cliente|mon ami|mon amie|ma femme|`+
		`mon mari|mon fils|ma fille|ma mère|mon père|mon frère|ma sœur|ma soeur|mon collègue|ma collègue|mon voisin|ma voisine|`+
		`mon propriétaire|ma propriétaire|mon médecin|mon avocat|mon patron|ma patronne|mon cousin|ma cousine|mon oncle|`+
		`ma tante|ma grand-mère|mon grand-père|mon copain|ma copine|`+
		`ich heiße|ich heisse|mein name ist|herr|frau|patientin|kunde|kundin|mein freund|meine freundin|`+
		`mein mann|mein sohn|meine tochter|meine mutter|mein vater|mein bruder|meine schwester|mein kollege|meine kollegin|`+
		`mein nachbar|meine nachbarin|mein vermieter|meine vermieterin|mein arzt|meine ärztin|mein anwalt|mein chef|`+
		`meine chefin|mein cousin|meine cousine|mein onkel|meine tante|meine oma|mein opa|`+
		`me llamo|mi nombre es|soy|sr|sra|señor|señora|don|doña|paciente|mi amigo|mi amiga|mi esposa|mi esposo|`+
		`mi marido|mi hijo|mi hija|mi madre|mi padre|mi hermano|mi hermana|mi colega|mi vecino|mi vecina|mi casero|mi casera|`+
		`mi médico|mi médica|mi abogado|mi abogada|mi jefe|mi jefa|mi primo|mi prima|mi tío|mi tía|mi abuela|mi abuelo|`+
		`mi novio|mi novia|mi compañero|mi compañera`, "|") {
		cues = append(cues, strings.Fields(c))
	}
	return cues
}()

// cueBefore says whether a name cue ends right before word i.
func cueBefore(text string, ws []nameWord, i int) bool {
	for _, cue := range nameCues {
		n := len(cue)
		if i < n {
			continue
		}
		ok := true
		for k := range n {
			if ws[i-n+k].lower != cue[k] || !adjacentLoose(text, ws[i-n+k], ws[i-n+k+1]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// adjacentLoose allows the punctuation a cue may carry ("Dr. Weber", "Name: Ana").
func adjacentLoose(text string, a, b nameWord) bool {
	return strings.Trim(text[a.end:b.start], " \t.:,") == ""
}

// scanNames finds names by the lexicon or after a cue; see the comment at the top of the file.
func scanNames(text, _ string) [][]int {
	ws := nameWords(text)
	var out [][]int
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		cued := cueBefore(text, ws, i)
		first := isFirstName(w.lower)
		switch {
		case i > 0 && placeBefore[ws[i-1].lower] && adjacent(text, ws[i-1], w):
			continue
		case cued && w.upper && !notSurnames[w.lower] && !notNames[w.lower]:
		case first && (w.upper || cued && !ambiguousNames[w.lower]): // "my landlord will…" is no one
		case first && i+1 < len(ws) && surnames[ws[i+1].lower] && adjacent(text, w, ws[i+1]):
		case first && !lowerWords[w.lower] && !ambiguousNames[w.lower]:
		default:
			continue
		}
		last := i // the last word of the name
		if !w.upper && !cued && i+1 < len(ws) && adjacent(text, w, ws[i+1]) && !ws[i+1].upper && len([]rune(ws[i+1].lower)) > 2 &&
			!notSurnames[ws[i+1].lower] && !notNames[ws[i+1].lower] && !streetStopWords[ws[i+1].lower] {
			// "nathalie roux": in lower case a surname looks like any word, so
			// the word after a first name is taken unless it is a stop word
			// (after a cue it is more often a verb: "mi amiga lucía necesita").
			last = i + 1
		}
		for j := last + 1; j < len(ws) && j <= last+3 && adjacent(text, ws[j-1], ws[j]); j++ {
			if surnameParticles[ws[j].lower] && !ws[j].upper && !ambiguousNames[w.lower] {
				continue
			}
			if surnames[ws[j].lower] || (w.upper && ws[j].upper && !notSurnames[ws[j].lower] && !institutionAfter[ws[j].lower]) {
				last = j
			} else {
				break
			}
			if last-i == 2 {
				break
			}
		}
		if last+1 < len(ws) && institutionAfter[ws[last+1].lower] && adjacent(text, ws[last], ws[last+1]) {
			i = last
			continue
		}
		if last == i && ambiguousNames[w.lower] && !cued {
			continue
		}
		if slices.ContainsFunc(ws[i+1:last+1], func(w nameWord) bool { return famousSurnames[w.lower] }) {
			i = last
			continue
		}
		out = append(out, []int{w.start, ws[last].end})
		i = last
	}
	return out
}

// lowerWords are first names that are also ordinary lower-case words: in
// lower case they count only after a cue or before a surname.
var lowerWords = wordSet(`
jean pierre paul mark bill frank pat sue gil luz rosa blanca claire france hugo louis martin simon vincent
victor julia sara carol max eva ana ruth esther teresa angel ángel clara olive dean leon léon paco marc axel
rené nina lea léa noah emma luis lisa laura anna maria marie
`)
