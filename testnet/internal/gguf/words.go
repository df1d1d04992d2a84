package gguf

// words are real English words placed in the vocabulary before any made-up
// ones, so a tiny model's output reads like (nonsensical) text.
var words = []string{
	"the", "of", "and", "to", "in", "is", "it", "that", "for", "on",
	"was", "with", "as", "at", "by", "be", "this", "are", "from", "or",
	"have", "an", "they", "which", "one", "you", "were", "all", "we", "her",
	"she", "there", "would", "their", "will", "when", "who", "him", "been", "has",
	"more", "if", "no", "out", "so", "said", "what", "up", "its", "about",
	"into", "than", "them", "can", "only", "other", "new", "some", "could", "time",
	"these", "two", "may", "then", "do", "first", "any", "my", "now", "such",
	"like", "our", "over", "man", "me", "even", "most", "made", "after", "also",
	"did", "many", "before", "must", "through", "back", "years", "where", "much", "your",
	"way", "well", "down", "should", "because", "each", "just", "those", "people", "how",
	"too", "little", "state", "good", "very", "make", "world", "still", "own", "see",
	"men", "work", "long", "get", "here", "between", "both", "life", "being", "under",
	"never", "day", "same", "another", "know", "while", "last", "might", "us", "great",
	"old", "year", "off", "come", "since", "against", "go", "came", "right", "used",
	"take", "three", "small", "large", "house", "water", "light", "river", "stone", "field",
	"answer", "question", "number", "model", "network", "node", "peer", "swarm", "signal", "data",
	"cloud", "edge", "vote", "query", "memory", "energy", "power", "heat", "cold", "fast",
	"slow", "bright", "dark", "green", "blue", "red", "white", "black", "north", "south",
	"east", "west", "city", "road", "bridge", "tree", "forest", "mountain", "sea", "island",
	"bird", "fish", "horse", "dog", "cat", "bread", "salt", "sugar", "milk", "apple",
	"music", "song", "voice", "word", "book", "letter", "story", "history", "science", "law",
	"money", "market", "price", "trade", "school", "student", "teacher", "doctor", "health", "body",
	"heart", "mind", "idea", "reason", "truth", "fact", "value", "measure", "system", "method",
	"problem", "result", "change", "order", "form", "part", "place", "point", "line", "side",
	"hand", "head", "eye", "face", "door", "window", "room", "table", "chair", "paper",
	"iron", "gold", "silver", "glass", "wood", "fire", "earth", "air", "sun", "moon",
	"star", "planet", "storm", "rain", "snow", "wind", "summer", "winter", "spring", "morning",
	"evening", "night", "today", "always", "often", "sometimes", "perhaps", "together", "alone", "again",
	"open", "close", "begin", "end", "follow", "lead", "build", "break", "carry", "hold",
	"keep", "send", "bring", "find", "give", "tell", "ask", "think", "feel", "seem",
	"true", "false", "simple", "strong", "clear", "early", "late", "young", "happy", "quiet",
}

// Syllable parts for made-up words once the real ones run out.
var (
	onsets = []string{"b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n",
		"p", "pl", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z"}
	nuclei = []string{"a", "e", "i", "o", "u", "ai", "ea", "oo", "ou"}
	codas  = []string{"", "", "n", "r", "s", "t", "l", "m", "nd", "st"}
)
