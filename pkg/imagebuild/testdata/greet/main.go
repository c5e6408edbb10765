// Command greet is a second tiny binary for the image build tests: a
// helper placed beside a component's entrypoint.
package main

import "fmt"

func main() { fmt.Println("greetings") }
