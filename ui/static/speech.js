// Speech mode and the keypad path; see speech.js in later commits.
"use strict";
